import Foundation
import KaitoCore
import SQLKit

struct SQLOrganizationRepository: OrganizationRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport

    func insert(_ organization: Organization) async throws {
        try await dialect.mappingConflict("An organisation named '\(organization.name)' already exists.") {
            try await db.raw("""
                INSERT INTO organizations (id, name, plan, created_at)
                VALUES (\(bind: organization.id), \(bind: organization.name), \(bind: organization.plan.rawValue),
                        \(bind: organization.createdAt.storedSeconds))
                """).run()
        }
    }

    func find(id: String) async throws -> Organization? {
        try await db.raw("SELECT * FROM organizations WHERE id = \(bind: id)").first().map(Self.decode)
    }

    func find(name: String) async throws -> Organization? {
        try await db.raw("SELECT * FROM organizations WHERE name = \(bind: name)").first().map(Self.decode)
    }

    func setPlan(id: String, plan: Plan) async throws -> Bool {
        let rows = try await db.raw("UPDATE organizations SET plan = \(bind: plan.rawValue) WHERE id = \(bind: id) RETURNING id").all()
        return !rows.isEmpty
    }

    func setSubscription(_ organization: Organization) async throws {
        try await db.raw("""
            UPDATE organizations SET plan = \(bind: organization.plan.rawValue), subscription_status = \(bind: organization.subscriptionStatus),
                current_period_end = \(bind: organization.currentPeriodEnd?.storedSeconds)
            WHERE id = \(bind: organization.id)
            """).run()
    }

    func rename(id: String, name: String) async throws {
        try await dialect.mappingConflict("An organisation named '\(name)' already exists.") {
            try await db.raw("UPDATE organizations SET name = \(bind: name) WHERE id = \(bind: id)").run()
        }
    }

    func count() async throws -> Int {
        try await db.raw("SELECT COUNT(*) AS n FROM organizations").first()?.int("n") ?? 0
    }

    static func decode(_ row: any SQLRow) throws -> Organization {
        Organization(
            id: try row.string("id"),
            name: try row.string("name"),
            plan: Plan(rawValue: try row.string("plan")) ?? .free,
            createdAt: try row.date("created_at"),
            subscriptionStatus: try row.optionalString("subscription_status"),
            currentPeriodEnd: try row.optionalDate("current_period_end")
        )
    }
}

struct SQLDataKeyRepository: DataKeyRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport

    func insert(_ wrapped: DataKey.Wrapped, organizationID: String) async throws {
        try await dialect.mappingConflict("The organisation already has a data key.") {
            try await db.raw("""
                INSERT INTO data_keys (org_id, master_key_id, wrapped_key)
                VALUES (\(bind: organizationID), \(bind: wrapped.masterKeyID), \(bind: Data(wrapped.ciphertext)))
                """).run()
        }
    }

    func find(organizationID: String) async throws -> DataKey.Wrapped? {
        guard let row = try await db.raw("SELECT * FROM data_keys WHERE org_id = \(bind: organizationID)").first() else {
            return nil
        }
        return DataKey.Wrapped(masterKeyID: try row.string("master_key_id"), ciphertext: try row.bytes("wrapped_key"))
    }

    func lockAll() async throws -> [(organizationID: String, wrapped: DataKey.Wrapped)] {
        try await db.raw("SELECT * FROM data_keys ORDER BY org_id\(unsafeRaw: dialect.rowLockSuffix)").all().map { row in
            (try row.string("org_id"), DataKey.Wrapped(masterKeyID: try row.string("master_key_id"), ciphertext: try row.bytes("wrapped_key")))
        }
    }

    func replace(organizationID: String, with wrapped: DataKey.Wrapped) async throws {
        try await db.raw("""
            UPDATE data_keys SET master_key_id = \(bind: wrapped.masterKeyID), wrapped_key = \(bind: Data(wrapped.ciphertext))
            WHERE org_id = \(bind: organizationID)
            """).run()
    }

    func secret(named name: String, lock: Bool) async throws -> DataKey.Wrapped? {
        let suffix = lock ? dialect.rowLockSuffix : ""
        guard let row = try await db.raw("SELECT * FROM server_secrets WHERE name = \(bind: name)\(unsafeRaw: suffix)").first() else {
            return nil
        }
        return DataKey.Wrapped(masterKeyID: try row.string("master_key_id"), ciphertext: try row.bytes("wrapped"))
    }

    func insertSecretIfAbsent(named name: String, _ wrapped: DataKey.Wrapped, at now: Date) async throws {
        try await db.raw("""
            INSERT INTO server_secrets (name, master_key_id, wrapped, updated_at)
            VALUES (\(bind: name), \(bind: wrapped.masterKeyID), \(bind: Data(wrapped.ciphertext)), \(bind: now.storedSeconds))
            ON CONFLICT (name) DO NOTHING
            """).run()
    }

    func replaceSecret(named name: String, with wrapped: DataKey.Wrapped, at now: Date) async throws {
        try await db.raw("""
            UPDATE server_secrets SET master_key_id = \(bind: wrapped.masterKeyID), wrapped = \(bind: Data(wrapped.ciphertext)),
            updated_at = \(bind: now.storedSeconds) WHERE name = \(bind: name)
            """).run()
    }
}
