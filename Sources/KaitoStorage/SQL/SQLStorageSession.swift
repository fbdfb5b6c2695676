import KaitoCore
import NIOConcurrencyHelpers
import SQLKit

/// The repositories over one SQLKit connection, written once for every database.
struct SQLStorageSession: StorageSession {
    let organizations: any OrganizationRepository
    let dataKeys: any DataKeyRepository
    let keys: any APIKeyRepository
    let tokens: any TokenRepository
    let audit: any AuditRepository
    let webhooks: any WebhookRepository
    let sms: any SMSRepository
    let users: any UserRepository
    let accounts: any AccountRepository
    let idempotency: any IdempotencyRepository
    let database: any SQLDatabase
    private let dialect: any SQLDialectSupport
    /// Topics to publish once the transaction commits (SQLite; PostgreSQL notifies inside the transaction).
    let committed = PendingTopics()
    private let changes: ChangeNotifier

    /// - Parameter heads: the chain heads the server remembers, where it keeps them (PostgreSQL).
    init(database: any SQLDatabase, dialect: any SQLDialectSupport, heads: ChainHeads? = nil) {
        self.database = database
        self.dialect = dialect
        let changes = ChangeNotifier(database: database, dialect: dialect, committed: committed)
        self.changes = changes
        self.sms = SQLSMSRepository(db: database, dialect: dialect)
        self.users = SQLUserRepository(db: database, dialect: dialect)
        self.accounts = SQLAccountRepository(db: database, dialect: dialect)
        self.idempotency = SQLIdempotencyRepository(db: database)
        self.organizations = SQLOrganizationRepository(db: database, dialect: dialect)
        self.dataKeys = SQLDataKeyRepository(db: database, dialect: dialect, changes: changes)
        self.keys = SQLAPIKeyRepository(db: database, dialect: dialect, changes: changes)
        self.tokens = SQLTokenRepository(db: database, dialect: dialect, changes: changes)
        self.audit = SQLAuditRepository(db: database, dialect: dialect, heads: heads)
        self.webhooks = SQLWebhookRepository(db: database, dialect: dialect, changes: changes)
    }

    func notifyAfterCommit(_ topic: String) async throws {
        try await changes.notify(topic)
    }
}

/// Publishes a topic when the transaction commits: `NOTIFY` inside it on PostgreSQL (delivered to every server, never
/// on rollback), the process's `ChangeHub` after the commit on SQLite. Repositories that change what servers cache
/// (keys, tokens, webhook endpoints) publish `CacheTopic`s through it, so every cache hears of every change.
struct ChangeNotifier: Sendable {
    let database: any SQLDatabase
    let dialect: any SQLDialectSupport
    let committed: PendingTopics

    func notify(_ topic: String) async throws {
        if dialect.notifiesInDatabase {
            // Once per topic and transaction: a batch that changes many rows sends one notification.
            guard committed.add(topic) else { return }
            try await database.raw("SELECT pg_notify(\(bind: PendingTopics.channel), \(bind: topic))").run()
        } else {
            committed.add(topic)
        }
    }
}

/// The topics a SQLite transaction asked to publish, handed to the `ChangeHub` after its commit.
final class PendingTopics: Sendable {
    /// The PostgreSQL channel every server listens on.
    static let channel = "kaito_changes"
    private let topics = NIOLockedValueBox<[String]>([])

    /// Adds `topic` once; returns whether it was new.
    @discardableResult
    func add(_ topic: String) -> Bool {
        topics.withLockedValue { topics in
            guard !topics.contains(topic) else { return false }
            topics.append(topic)
            return true
        }
    }
    func drain() -> [String] { topics.withLockedValue { topics in defer { topics = [] }; return topics } }
}

extension SQLDialectSupport {
    /// Runs an insert, turning a unique violation into `conflict` with `detail`.
    func mappingConflict(_ detail: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch where isUniqueViolation(error) {
            throw KaitoError.conflict(detail)
        }
    }
}
