import Foundation
import KaitoCore
import KaitoStorage
import Logging
import ServiceLifecycle

/// What a runtime is built from besides its configuration: the parts a test replaces (a pinned clock, a resolver
/// that answers what the test says, a fast password hasher, a long-poll that only a notification wakes). The
/// defaults are production's.
public struct Dependencies: Sendable {
    public var clock: any KaitoClock
    public var random: any RandomSource
    public var resolver: any HostResolver
    public var passwordHasher: any PasswordHasher
    /// How often a waiting SMS long-poll reads the database again without a notification (`SMSService`).
    public var longPollReread: Duration

    public init(
        clock: any KaitoClock = SystemClock(), random: any RandomSource = SystemRandomSource(),
        resolver: any HostResolver = SystemHostResolver(), passwordHasher: any PasswordHasher = PooledPasswordHasher(),
        longPollReread: Duration = SMSService.defaultRereadInterval
    ) {
        self.clock = clock
        self.random = random
        self.resolver = resolver
        self.passwordHasher = passwordHasher
        self.longPollReread = longPollReread
    }
}

/// The opened database and keys: what `kaito serve` and every operator command start from.
public struct Runtime: Sendable {
    public let storage: any Storage
    /// The units of work every service of this runtime runs in (and the workers' writes with their audit events).
    public let work: UnitOfWork
    public let keyring: Keyring
    public let clock: any KaitoClock
    public let random: any RandomSource
    public let keys: KeyService
    public let tokens: TokenService
    public let organizations: OrganizationService
    /// The organisation's users and their token grants.
    public let users: UserService
    /// The organisation's plan.
    public let billing: BillingService
    public let audit: AuditService
    public let webhooks: WebhookService
    public let sms: SMSService
    /// Dashboard sign-in and sessions.
    public let signIn: SignInService
    /// The responses kept for retries with an `Idempotency-Key`.
    public let idempotency: IdempotencyService
    public let webhookPolicy: WebhookAddressPolicy
    public let resolver: any HostResolver

    public init(
        storage: any Storage, keyring: Keyring, clock: any KaitoClock = SystemClock(), random: any RandomSource = SystemRandomSource(),
        webhookPolicy: WebhookAddressPolicy = WebhookAddressPolicy(), resolver: any HostResolver = SystemHostResolver(),
        passwordHasher: any PasswordHasher = PooledPasswordHasher(), longPollReread: Duration = SMSService.defaultRereadInterval
    ) {
        self.webhookPolicy = webhookPolicy
        self.resolver = resolver
        self.storage = storage
        self.keyring = keyring
        self.clock = clock
        self.random = random
        let work = UnitOfWork(storage: storage, clock: clock, random: random, auditChain: keyring.auditChain)
        self.work = work
        self.keys = KeyService(work: work, keyring: keyring, clock: clock, random: random)
        self.tokens = TokenService(work: work, keyring: keyring, clock: clock, random: random)
        self.organizations = OrganizationService(work: work, keyring: keyring, keys: keys, clock: clock, random: random)
        self.users = UserService(work: work, clock: clock, random: random)
        self.billing = BillingService(work: work, random: random)
        self.audit = AuditService(work: work)
        self.webhooks = WebhookService(work: work, keyring: keyring, clock: clock, random: random, policy: webhookPolicy, resolver: resolver)
        self.sms = SMSService(work: work, keyring: keyring, clock: clock, random: random, rereadInterval: longPollReread)
        self.signIn = SignInService(work: work, keyring: keyring, clock: clock, random: random, hasher: passwordHasher)
        self.idempotency = IdempotencyService(storage: storage, keyring: keyring, clock: clock, random: random)
    }

    /// Opens the configured database (creating the data directory and the master key on first start) and
    /// migrates it. A server (`serving`) may keep keys and tokens in memory; an operator command tells the server of
    /// the changes it makes (see `SQLiteStorage`).
    public static func open(
        _ configuration: ServerConfiguration, serving: Bool = false, dependencies: Dependencies = Dependencies(), logger: Logger
    ) async throws -> Runtime {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let master = try loadMasterKey(configuration, logger: logger)
        if let url = configuration.databaseURL {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { throw ServerError.unsupportedDatabaseURL }
            let storage = try await PostgresStorage.open(url: url, timeout: configuration.databaseTimeout, logger: logger)
            return try await opened(storage, master, configuration, dependencies, logger)
        }
        return try await openSQLite(configuration, serving: serving, master: master, dependencies: dependencies, logger: logger)
    }

    /// How a server's runtime comes up: the services its database needs running first (PostgreSQL's connection pool
    /// and its LISTEN connection; none for SQLite), and the runtime, opened over them once they run.
    public struct Opening: Sendable {
        /// The database's services: `kaito serve` runs them in its service group, before the server and stopped after it.
        public let services: [any Service]
        /// Opens (and migrates) the database and the keys; call it only while `services` run.
        public let open: @Sendable () async throws -> Runtime
    }

    /// What `kaito serve` runs: the database's services in its service group, and then, in a service of its own, the
    /// runtime that `open` opens over them. (An operator command or a test calls `Runtime.open`, whose storage runs
    /// its services in a task of its own until it is closed.)
    public static func opening(
        _ configuration: ServerConfiguration, serving: Bool = true, dependencies: Dependencies = Dependencies(), logger: Logger
    ) throws -> Opening {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let master = try loadMasterKey(configuration, logger: logger)
        guard let url = configuration.databaseURL else {
            return Opening(services: []) {
                try await openSQLite(configuration, serving: serving, master: master, dependencies: dependencies, logger: logger)
            }
        }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { throw ServerError.unsupportedDatabaseURL }
        let storage = try PostgresStorage(url: url, timeout: configuration.databaseTimeout, logger: logger)
        return Opening(services: storage.services) {
            try await storage.prepare()
            return try await opened(storage, master, configuration, dependencies, logger)
        }
    }

    static func openSQLite(
        _ configuration: ServerConfiguration, serving: Bool, master: MasterKey, dependencies: Dependencies, logger: Logger
    ) async throws -> Runtime {
        // Create the database file owner-only; SQLite gives its WAL and shared-memory files the same mode.
        if !FileManager.default.fileExists(atPath: configuration.databasePath) {
            FileManager.default.createFile(atPath: configuration.databasePath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let storage = try await SQLiteStorage.open(
            path: configuration.databasePath, busyTimeout: configuration.databaseTimeout, role: serving ? .server : .operatorCommand, logger: logger)
        return try await opened(storage, master, configuration, dependencies, logger)
    }

    /// The runtime over a migrated storage: its keyring opened with `master`, and what the migrations just applied
    /// ask of it done (`upgraded`).
    static func opened(
        _ storage: any Storage, _ master: MasterKey, _ configuration: ServerConfiguration, _ dependencies: Dependencies, _ logger: Logger
    ) async throws -> Runtime {
        try await upgraded(Runtime(storage: storage, keyring: try await openKeyring(master, storage), configuration, dependencies), logger)
    }

    /// The runtime over an opened storage and keyring, as `configuration` and `dependencies` say.
    init(storage: any Storage, keyring: Keyring, _ configuration: ServerConfiguration, _ dependencies: Dependencies) {
        self.init(
            storage: storage, keyring: keyring, clock: dependencies.clock, random: dependencies.random,
            webhookPolicy: WebhookAddressPolicy(allowed: configuration.webhookAllowedCIDRs), resolver: dependencies.resolver,
            passwordHasher: dependencies.passwordHasher, longPollReread: dependencies.longPollReread)
    }

    /// Plaintext SMS bodies exist only in a database written before migration 12: whichever process applies it (a
    /// server or an operator command) seals them; later starts do not scan for them again.
    static func upgraded(_ runtime: Runtime, _ logger: Logger) async throws -> Runtime {
        guard runtime.storage.migrationsAppliedAtOpen.contains(12) else { return runtime }
        let sealed = try await runtime.sms.sealStoredPlaintext()
        if sealed > 0 { logger.notice("sealed SMS bodies stored in plaintext by an earlier version", metadata: ["count": "\(sealed)"]) }
        return runtime
    }

    /// The keyring, or — for a server started with a master key the database does not use — the storage closed and
    /// the refusal thrown.
    static func openKeyring(_ master: MasterKey, _ storage: any Storage) async throws -> Keyring {
        do {
            // Migration 13 brought keyed audit chains: the process that applies it tags the chains written before.
            return try await Keyring.open(master: master, storage: storage, upgradedAuditChains: storage.migrationsAppliedAtOpen.contains(13))
        } catch {
            try? await storage.close()
            throw error
        }
    }

    static func loadMasterKey(_ configuration: ServerConfiguration, logger: Logger) throws -> MasterKey {
        do {
            if let (key, _) = try existingMasterKey(configuration) { return key }
            // A new key only for a new database: for one that holds data (a restored backup, a moved directory) a new
            // key could open nothing, so say what is missing instead of writing a useless key file.
            if configuration.databaseURL == nil,
               let size = (try? FileManager.default.attributesOfItem(atPath: configuration.databasePath))?[.size] as? Int, size > 0 {
                throw ServerError.badMasterKey(
                    "\(configuration.databasePath) holds data but there is no master key: set KAITO_MASTER_KEY or put the key in \(configuration.masterKeyPath)")
            }
            let (key, base64) = MasterKey.generate()
            try SecretFile.create(configuration.masterKeyPath, contents: base64 + "\n")
            logger.notice("generated a new master key", metadata: ["path": "\(configuration.masterKeyPath)"])
            return key
        } catch let error as MasterKey.Error {
            throw ServerError.badMasterKey(error.description)
        }
    }

    /// The master key from `KAITO_MASTER_KEY` or the key file, with its base64 text; nil when there is none (never
    /// a new one).
    static func existingMasterKey(_ configuration: ServerConfiguration) throws -> (MasterKey, String)? {
        guard let text = try configuration.masterKeyBase64 ?? SecretFile.read(configuration.masterKeyPath) else { return nil }
        do {
            return (try MasterKey(base64: text), text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch let error as MasterKey.Error {
            throw ServerError.badMasterKey(error.description)
        }
    }

    /// On an empty database, creates the `default` organisation and writes its admin key to the bootstrap file.
    public func bootstrap(_ configuration: ServerConfiguration, logger: Logger) async throws {
        let retire = "once owners have keys of their own, revoke it and delete the file with `kaito admin rotate-bootstrap-key default --revoke-only` (or rotate it into a secret store with `kaito admin rotate-bootstrap-key default`)"
        guard let secret = try await organizations.bootstrapIfEmpty() else {
            if FileManager.default.fileExists(atPath: configuration.bootstrapKeyPath) {
                logger.notice("the bootstrap org:admin key file is still in the data directory; \(retire)", metadata: ["path": "\(configuration.bootstrapKeyPath)"])
            }
            return
        }
        // A file left from an earlier, deleted database holds a key that no longer exists: replace it.
        try? FileManager.default.removeItem(atPath: configuration.bootstrapKeyPath)
        try SecretFile.create(configuration.bootstrapKeyPath, contents: secret.value + "\n")
        logger.notice("created organisation 'default'; its org:admin key is in the bootstrap file; \(retire)", metadata: ["path": "\(configuration.bootstrapKeyPath)"])
    }
}

extension Runtime {
    /// The operator at this machine, acting in the organisation `nameOrID` (what `kaito admin` commands name).
    /// - Throws: `not_found` for an unknown organisation.
    public func asOperator(in nameOrID: String) async throws -> Requester {
        .operator(organizationID: try await organizations.find(nameOrID).id)
    }
}
