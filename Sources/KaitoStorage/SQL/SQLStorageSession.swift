import KaitoCore
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
    private let database: any SQLDatabase
    private let dialect: any SQLDialectSupport
    /// Topics to publish once the transaction commits (SQLite; PostgreSQL notifies inside the transaction).
    let committed = PendingTopics()

    init(database: any SQLDatabase, dialect: any SQLDialectSupport) {
        self.database = database
        self.dialect = dialect
        self.sms = SQLSMSRepository(db: database, dialect: dialect)
        self.users = SQLUserRepository(db: database, dialect: dialect)
        self.accounts = SQLAccountRepository(db: database, dialect: dialect)
        self.organizations = SQLOrganizationRepository(db: database, dialect: dialect)
        self.dataKeys = SQLDataKeyRepository(db: database, dialect: dialect)
        self.keys = SQLAPIKeyRepository(db: database, dialect: dialect)
        self.tokens = SQLTokenRepository(db: database, dialect: dialect)
        self.audit = SQLAuditRepository(db: database, dialect: dialect)
        self.webhooks = SQLWebhookRepository(db: database, dialect: dialect)
    }

    func notifyAfterCommit(_ topic: String) async throws {
        if dialect.notifiesInDatabase {
            // Delivered to every listening connection (every server) when the transaction commits, never on rollback.
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
    private let topics = Locked<[String]>([])

    func add(_ topic: String) { topics.withLock { $0.append(topic) } }
    func drain() -> [String] { topics.withLock { topics in defer { topics = [] }; return topics } }
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
