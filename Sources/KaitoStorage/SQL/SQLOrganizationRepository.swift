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
            plan: try row.value("plan", as: Plan.self),
            createdAt: try row.date("created_at"),
            subscriptionStatus: try row.optionalString("subscription_status"),
            currentPeriodEnd: try row.optionalDate("current_period_end")
        )
    }
}

struct SQLDataKeyRepository: DataKeyRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport
    let changes: ChangeNotifier

    func insert(_ wrapped: DataKey.Wrapped, organizationID: String) async throws {
        try await dialect.mappingConflict("The organisation already has a data key.") {
            try await db.raw("""
                INSERT INTO data_keys (org_id, master_key_id, wrapped_key, version)
                VALUES (\(bind: organizationID), \(bind: wrapped.masterKeyID), \(bind: Data(wrapped.ciphertext)), \(bind: wrapped.version))
                """).run()
        }
    }

    func current(organizationID: String, lock: Bool) async throws -> DataKey.Wrapped? {
        let suffix = lock ? dialect.rowLockSuffix : ""
        return try await db.raw("SELECT * FROM data_keys WHERE org_id = \(bind: organizationID)\(unsafeRaw: suffix)").first().map(Self.wrapped)
    }

    func versions(organizationID: String) async throws -> [DataKey.Wrapped] {
        let current = try await current(organizationID: organizationID, lock: false)
        let retired = try await db.raw("SELECT * FROM retired_data_keys WHERE org_id = \(bind: organizationID) ORDER BY version")
            .all().map(Self.wrapped)
        return retired + (current.map { [$0] } ?? [])
    }

    func lockAll() async throws -> [(organizationID: String, wrapped: DataKey.Wrapped)] {
        var all: [(organizationID: String, wrapped: DataKey.Wrapped)] = []
        for table in ["data_keys", "retired_data_keys"] {
            all += try await db.raw("SELECT * FROM \(unsafeRaw: table) ORDER BY org_id, version\(unsafeRaw: dialect.rowLockSuffix)").all().map { row in
                (try row.string("org_id"), try Self.wrapped(row))
            }
        }
        return all
    }

    func replace(organizationID: String, with wrapped: DataKey.Wrapped) async throws {
        for table in ["data_keys", "retired_data_keys"] {
            try await db.raw("""
                UPDATE \(unsafeRaw: table) SET master_key_id = \(bind: wrapped.masterKeyID), wrapped_key = \(bind: Data(wrapped.ciphertext))
                WHERE org_id = \(bind: organizationID) AND version = \(bind: wrapped.version)
                """).run()
        }
    }

    func advance(organizationID: String, to next: DataKey.Wrapped, at now: Date) async throws {
        try await db.raw("""
            INSERT INTO retired_data_keys (org_id, version, master_key_id, wrapped_key, retired_at)
            SELECT org_id, version, master_key_id, wrapped_key, \(bind: now.storedSeconds) FROM data_keys WHERE org_id = \(bind: organizationID)
            """).run()
        try await db.raw("""
            UPDATE data_keys SET version = \(bind: next.version), master_key_id = \(bind: next.masterKeyID), wrapped_key = \(bind: Data(next.ciphertext))
            WHERE org_id = \(bind: organizationID)
            """).run()
    }

    func deleteRetired(organizationID: String) async throws -> Int {
        let count = try await db.raw("SELECT COUNT(*) AS n FROM retired_data_keys WHERE org_id = \(bind: organizationID)").first()?.int("n") ?? 0
        try await db.raw("DELETE FROM retired_data_keys WHERE org_id = \(bind: organizationID)").run()
        return count
    }

    /// Table, record column and value column of each kind of sealed value.
    private static func location(_ kind: SealedValue.Kind) -> (table: String, record: String, column: String) {
        switch kind {
        case .tokenSeed: return ("tokens", "id", "sealed_seed")
        case .webhookSecret: return ("webhook_endpoints", "id", "sealed_secret")
        case .previousWebhookSecret: return ("webhook_endpoints", "id", "previous_sealed_secret")
        case .providerSecret: return ("provider_credentials", "provider", "sealed_secret")
        case .userTOTPSecret: return ("user_credentials", "user_id", "totp_sealed")
        case .smsInboundBody: return ("sms_messages", "id", "sealed_body")
        case .smsOutboundBody: return ("sms_outbound", "id", "sealed_body")
        case .idempotentResponse: return ("idempotency_keys", "id", "sealed_body")
        }
    }

    func sealedValues(_ kind: SealedValue.Kind, organizationID: String, after cursor: String?, limit: Int, lock: Bool) async throws -> [SealedValue] {
        let (table, record, column) = Self.location(kind)
        let suffix = lock ? dialect.rowLockSuffix : ""
        return try await db.raw("""
            SELECT \(unsafeRaw: record) AS record, \(unsafeRaw: column) AS sealed FROM \(unsafeRaw: table)
            WHERE org_id = \(bind: organizationID) AND \(unsafeRaw: column) IS NOT NULL AND \(unsafeRaw: record) > \(bind: cursor ?? "")
            ORDER BY \(unsafeRaw: record) LIMIT \(bind: limit)\(unsafeRaw: suffix)
            """).all().map { row in
            SealedValue(kind: kind, recordID: try row.string("record"), sealed: try row.bytes("sealed"))
        }
    }

    func replaceSealedValue(_ value: SealedValue, organizationID: String) async throws {
        let (table, record, column) = Self.location(value.kind)
        if value.kind == .tokenSeed { try await changes.notify(CacheTopic.tokens) }
        try await db.raw("""
            UPDATE \(unsafeRaw: table) SET \(unsafeRaw: column) = \(bind: Data(value.sealed))
            WHERE org_id = \(bind: organizationID) AND \(unsafeRaw: record) = \(bind: value.recordID)
            """).run()
    }

    private static func wrapped(_ row: any SQLRow) throws -> DataKey.Wrapped {
        DataKey.Wrapped(masterKeyID: try row.string("master_key_id"), ciphertext: try row.bytes("wrapped_key"), version: try row.int("version"))
    }

    func secret(named name: String, lock: Bool) async throws -> DataKey.Wrapped? {
        let suffix = lock ? dialect.rowLockSuffix : ""
        guard let row = try await db.raw("SELECT * FROM server_secrets WHERE name = \(bind: name)\(unsafeRaw: suffix)").first() else {
            return nil
        }
        return DataKey.Wrapped(masterKeyID: try row.string("master_key_id"), ciphertext: try row.bytes("wrapped"))
    }

    func insertSecretIfAbsent(named name: String, _ wrapped: DataKey.Wrapped, at now: Date) async throws -> Bool {
        try await !db.raw("""
            INSERT INTO server_secrets (name, master_key_id, wrapped, updated_at)
            VALUES (\(bind: name), \(bind: wrapped.masterKeyID), \(bind: Data(wrapped.ciphertext)), \(bind: now.storedSeconds))
            ON CONFLICT (name) DO NOTHING
            RETURNING name
            """).all().isEmpty
    }

    func replaceSecret(named name: String, with wrapped: DataKey.Wrapped, at now: Date) async throws {
        try await db.raw("""
            UPDATE server_secrets SET master_key_id = \(bind: wrapped.masterKeyID), wrapped = \(bind: Data(wrapped.ciphertext)),
            updated_at = \(bind: now.storedSeconds) WHERE name = \(bind: name)
            """).run()
    }
}
