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

    init(database: any SQLDatabase, dialect: any SQLDialectSupport) {
        self.organizations = SQLOrganizationRepository(db: database, dialect: dialect)
        self.dataKeys = SQLDataKeyRepository(db: database, dialect: dialect)
        self.keys = SQLAPIKeyRepository(db: database, dialect: dialect)
        self.tokens = SQLTokenRepository(db: database, dialect: dialect)
        self.audit = SQLAuditRepository(db: database, dialect: dialect)
        self.webhooks = SQLWebhookRepository(db: database, dialect: dialect)
    }
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
