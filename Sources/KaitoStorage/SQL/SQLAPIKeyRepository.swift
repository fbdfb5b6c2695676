import Foundation
import KaitoCore
import SQLKit

struct SQLAPIKeyRepository: APIKeyRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport
    let changes: ChangeNotifier

    func insert(_ key: APIKey) async throws {
        try await dialect.mappingConflict("The key already exists.") {
            try await db.raw("""
                INSERT INTO api_keys (id, org_id, name, hint, key_hash, scopes, created_at, created_by, expires_at, revoked_at,
                                      allowed_cidrs, token_slugs, single_use, rate_limit_code, rate_limit_read, rate_limit_write, user_id)
                VALUES (\(bind: key.id), \(bind: key.organizationID), \(bind: key.name), \(bind: key.hint),
                        \(bind: Data(key.hash)), \(bind: Self.encodeScopes(key.scopes)), \(bind: key.createdAt.storedSeconds),
                        \(bind: key.createdBy), \(bind: key.expiresAt?.storedSeconds), \(bind: key.revokedAt?.storedSeconds),
                        \(bind: Self.encodeCIDRs(key.allowedCIDRs)), \(bind: key.tokenSlugs?.joined(separator: " ")),
                        \(bind: key.singleUse ? 1 : 0), \(bind: key.rateLimits.code), \(bind: key.rateLimits.read),
                        \(bind: key.rateLimits.write), \(bind: key.userID))
                """).run()
        }
    }

    func find(hash: [UInt8]) async throws -> APIKey? {
        try await db.raw("SELECT * FROM api_keys WHERE key_hash = \(bind: Data(hash))").first().map(Self.decode)
    }

    func find(id: String, organizationID: String) async throws -> APIKey? {
        try await db.raw("SELECT * FROM api_keys WHERE id = \(bind: id) AND org_id = \(bind: organizationID)")
            .first().map(Self.decode)
    }

    func list(organizationID: String, after cursor: String?, limit: Int) async throws -> [APIKey] {
        try await db.raw("""
            SELECT * FROM api_keys WHERE org_id = \(bind: organizationID) AND id > \(bind: cursor ?? "")
            ORDER BY id LIMIT \(literal: limit)
            """).all().map(Self.decode)
    }

    func revoke(id: String, organizationID: String, at: Date) async throws -> Bool {
        try await changes.notify(CacheTopic.keys)
        let rows = try await db.raw("""
            UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(bind: at.storedSeconds))
            WHERE id = \(bind: id) AND org_id = \(bind: organizationID) RETURNING id
            """).all()
        return !rows.isEmpty
    }

    func update(_ key: APIKey) async throws {
        try await changes.notify(CacheTopic.keys)
        try await db.raw("""
            UPDATE api_keys SET name = \(bind: key.name), expires_at = \(bind: key.expiresAt?.storedSeconds),
                allowed_cidrs = \(bind: Self.encodeCIDRs(key.allowedCIDRs)), token_slugs = \(bind: key.tokenSlugs?.joined(separator: " ")),
                rate_limit_code = \(bind: key.rateLimits.code), rate_limit_read = \(bind: key.rateLimits.read),
                rate_limit_write = \(bind: key.rateLimits.write)
            WHERE id = \(bind: key.id) AND org_id = \(bind: key.organizationID)
            """).run()
    }

    func spend(id: String, organizationID: String, at: Date, ip: String?) async throws -> Bool {
        // One conditional statement: of racing requests, on one server or several, exactly one sees a row.
        try await changes.notify(CacheTopic.keys)
        let rows = try await db.raw("""
            UPDATE api_keys SET spent_at = \(bind: at.storedSeconds), last_used_at = \(bind: at.storedSeconds),
                last_used_ip = \(bind: ip)
            WHERE id = \(bind: id) AND org_id = \(bind: organizationID) AND spent_at IS NULL RETURNING id
            """).all()
        return !rows.isEmpty
    }

    func touch(id: String, organizationID: String, at: Date, ip: String?) async throws {
        try await changes.notify(CacheTopic.keys)
        try await db.raw("""
            UPDATE api_keys SET last_used_at = \(bind: at.storedSeconds), last_used_ip = \(bind: ip)
            WHERE id = \(bind: id) AND org_id = \(bind: organizationID)
            """).run()
    }

    static func encodeCIDRs(_ cidrs: [CIDR]) -> String? {
        cidrs.isEmpty ? nil : cidrs.map(\.description).joined(separator: " ")
    }

    static func encodeScopes(_ scopes: Set<Scope>) -> String {
        scopes.sorted().map(\.rawValue).joined(separator: " ")
    }

    func revokeIssued(userID: String, organizationID: String, at: Date) async throws -> [String] {
        try await changes.notify(CacheTopic.keys)
        return try await db.raw("""
            UPDATE api_keys SET revoked_at = \(bind: at.storedSeconds)
            WHERE org_id = \(bind: organizationID) AND user_id = \(bind: userID) AND revoked_at IS NULL
            RETURNING id
            """).all().map { try $0.string("id") }.sorted()
    }

    func revokeCreated(by createdBy: String, organizationID: String, at: Date) async throws -> [String] {
        try await changes.notify(CacheTopic.keys)
        return try await db.raw("""
            UPDATE api_keys SET revoked_at = \(bind: at.storedSeconds)
            WHERE org_id = \(bind: organizationID) AND created_by = \(bind: createdBy) AND revoked_at IS NULL
            RETURNING id
            """).all().map { try $0.string("id") }.sorted()
    }

    func clearRateLimitOverrides(organizationID: String) async throws -> [String] {
        try await changes.notify(CacheTopic.keys)
        return try await db.raw("""
            UPDATE api_keys SET rate_limit_code = NULL, rate_limit_read = NULL, rate_limit_write = NULL
            WHERE org_id = \(bind: organizationID)
              AND (rate_limit_code IS NOT NULL OR rate_limit_read IS NOT NULL OR rate_limit_write IS NOT NULL)
            RETURNING id
            """).all().map { try $0.string("id") }.sorted()
    }

    static func decode(_ row: any SQLRow) throws -> APIKey {
        APIKey(
            id: try row.string("id"),
            organizationID: try row.string("org_id"),
            name: try row.string("name"),
            hint: try row.string("hint"),
            hash: try row.bytes("key_hash"),
            scopes: Set(try row.words("scopes", Scope.init(rawValue:))),
            createdAt: try row.date("created_at"),
            createdBy: try row.string("created_by"),
            expiresAt: try row.optionalDate("expires_at"),
            revokedAt: try row.optionalDate("revoked_at"),
            allowedCIDRs: try row.words("allowed_cidrs", CIDR.init),
            tokenSlugs: try row.optionalString("token_slugs").map { $0.split(separator: " ").map(String.init) },
            singleUse: try row.int("single_use") != 0,
            spentAt: try row.optionalDate("spent_at"),
            lastUsedAt: try row.optionalDate("last_used_at"),
            lastUsedIP: try row.optionalString("last_used_ip"),
            rateLimits: RateLimitOverrides(
                code: try row.optionalInt("rate_limit_code"), read: try row.optionalInt("rate_limit_read"),
                write: try row.optionalInt("rate_limit_write")),
            userID: try row.optionalString("user_id")
        )
    }
}
