import Foundation
import KaitoCore
import KaitoHTTP
import KaitoStorage
import Logging

/// A runtime over a real SQLite file in a temporary directory, with a pinned clock, and the `default`
/// organisation bootstrapped: what every storage and HTTP test starts from.
public struct TestRuntime: Sendable {
    public let runtime: Runtime
    public let clock: ManualClock
    public let directory: TemporaryDirectory
    public let configuration: ServerConfiguration
    /// The bootstrap `org:admin` key of the organisation `default`.
    public let adminKey: String
    public let organization: Organization
    public let backend: TestBackend
    /// What the runtime was opened with: the pinned clock, the test's resolver, the fast password hasher, the hour-long re-read.
    public let dependencies: Dependencies

    /// How often a test server's waiting long-poll reads the database again without a notification: never within a test.
    public static let longPollReread: Duration = .seconds(3600)

    /// Webhooks in tests may go to 127.0.0.1 (the test receivers), and nowhere else private.
    public static let testWebhookPolicy = WebhookAddressPolicy(allowed: [CIDR("127.0.0.1/32")!])

    public static func make(
        clock: ManualClock = ManualClock(), backend: TestBackend = .fromEnvironment,
        resolver: any HostResolver = SystemHostResolver()
    ) async throws -> TestRuntime {
        let directory = try TemporaryDirectory()
        var configuration = ServerConfiguration(dataDirectory: directory.path)
        configuration.webhookAllowedCIDRs = testWebhookPolicy.allowed
        if case .postgres(let adminURL) = backend {
            configuration.databaseURL = try await TestDatabase.createDatabase(adminURL: adminURL)
        }
        var logger = Logger(label: "kaito-test")
        logger.logLevel = .warning
        // The lowest cost bcrypt allows: sign-ins in tests stay fast. A long-poll's periodic re-read is an hour
        // away, so that a waiting long-poll answers within a test only when a notification wakes it (however slow
        // the machine); `LongPollRereadTests` checks the re-read itself.
        let dependencies = Dependencies(
            clock: clock, resolver: resolver, passwordHasher: PooledPasswordHasher(cost: 4), longPollReread: TestRuntime.longPollReread)
        let runtime = try await Runtime.open(configuration, serving: true, dependencies: dependencies, logger: logger)
        try await runtime.bootstrap(configuration, logger: logger)
        let adminKey = try String(contentsOfFile: configuration.bootstrapKeyPath, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let organization = try await runtime.organizations.find("default")
        return TestRuntime(
            runtime: runtime, clock: clock, directory: directory, configuration: configuration,
            adminKey: adminKey, organization: organization, backend: backend, dependencies: dependencies
        )
    }

    /// Closes the database, drops it (PostgreSQL) and deletes the directory.
    public func tearDown() async {
        try? await runtime.storage.close()
        if case .postgres(let adminURL) = backend, let url = configuration.databaseURL {
            await TestDatabase.dropDatabase(url: url, adminURL: adminURL)
        }
        directory.remove()
    }

    /// A new key in `organization` (default: `default`) with `scopes`.
    public func key(_ scopes: Set<Scope>, in organization: Organization? = nil, name: String = "test") async throws -> String {
        let organizationID = (organization ?? self.organization).id
        let (_, secret) = try await runtime.storage.write { session in
            try await runtime.keys.create(.init(name: name, scopes: scopes), organizationID: organizationID, createdBy: "operator", session: session)
        }
        return secret.value
    }

    /// A second organisation with its own admin key.
    public func otherOrganization(_ name: String = "other") async throws -> (Organization, String) {
        let (organization, secret) = try await runtime.organizations.create(name: name, createdBy: "operator")
        return (organization, secret.value)
    }
}

/// Runs `body` with a fresh `TestRuntime` and tears it down afterwards, also when `body` throws.
public func withTestRuntime<T>(
    clock: ManualClock = ManualClock(), backend: TestBackend = .fromEnvironment, resolver: any HostResolver = SystemHostResolver(),
    _ body: (TestRuntime) async throws -> T
) async throws -> T {
    let test = try await TestRuntime.make(clock: clock, backend: backend, resolver: resolver)
    do {
        let result = try await body(test)
        await test.tearDown()
        return result
    } catch {
        await test.tearDown()
        throw error
    }
}

extension TestRuntime {
    /// Runs raw SQL on the test's database (to tamper with rows or break a table), whichever backend it is.
    public func execute(_ sql: String) async throws {
        if let storage = runtime.storage as? SQLiteStorage {
            try await storage.executeForTesting(sql)
        } else if let storage = runtime.storage as? PostgresStorage {
            try await storage.executeForTesting(sql)
        }
    }
}
