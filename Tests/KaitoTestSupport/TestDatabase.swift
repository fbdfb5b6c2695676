import Foundation
import Logging
import PostgresNIO

/// Which database a test runs on: SQLite always; PostgreSQL when `KAITO_TEST_DATABASE_URL` names a server
/// (scripts/test starts one and runs the suites a second time with it).
public enum TestBackend: Sendable {
    case sqlite
    case postgres(adminURL: String)

    /// PostgreSQL when `KAITO_TEST_DATABASE_URL` is set, else SQLite.
    public static var fromEnvironment: TestBackend {
        TestDatabase.postgresAdminURL.map { .postgres(adminURL: $0) } ?? .sqlite
    }
}

public enum TestDatabase {
    /// The URL of a PostgreSQL database in which the tests may create and drop databases.
    public static var postgresAdminURL: String? {
        ProcessInfo.processInfo.environment["KAITO_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Creates a fresh, empty database next to `adminURL`'s and returns its URL.
    public static func createDatabase(adminURL: String) async throws -> String {
        let name = "kaito_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await withAdminClient(adminURL) { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        guard var components = URLComponents(string: adminURL) else { throw URLError(.badURL) }
        components.path = "/" + name
        return components.string!
    }

    /// Drops the database of `url`, disconnecting whoever still uses it.
    public static func dropDatabase(url: String, adminURL: String) async {
        guard let name = URLComponents(string: url)?.path.dropFirst(), name.hasPrefix("kaito_t_") else { return }
        try? await withAdminClient(adminURL) { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
    }

    static func withAdminClient(_ url: String, _ body: (PostgresClient) async throws -> Void) async throws {
        guard let components = URLComponents(string: url), let host = components.host else { throw URLError(.badURL) }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: database.isEmpty ? nil : database, tls: .disable
        )
        var logger = Logger(label: "kaito-test-pg")
        logger.logLevel = .critical
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}
