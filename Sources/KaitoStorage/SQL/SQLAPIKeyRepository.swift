import Foundation
import KaitoCore
import SQLKit

struct SQLAPIKeyRepository: APIKeyRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport

    func insert(_ key: APIKey) async throws {
        try await dialect.mappingConflict("The key already exists.") {
            try await db.raw("""
                INSERT INTO api_keys (id, org_id, name, hint, key_hash, scopes, created_at, created_by, expires_at, revoked_at)
                VALUES (\(bind: key.id), \(bind: key.organizationID), \(bind: key.name), \(bind: key.hint),
                        \(bind: Data(key.hash)), \(bind: Self.encodeScopes(key.scopes)), \(bind: key.createdAt.storedSeconds),
                        \(bind: key.createdBy), \(bind: key.expiresAt?.storedSeconds), \(bind: key.revokedAt?.storedSeconds))
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
        let rows = try await db.raw("""
            UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(bind: at.storedSeconds))
            WHERE id = \(bind: id) AND org_id = \(bind: organizationID) RETURNING id
            """).all()
        return !rows.isEmpty
    }

    static func encodeScopes(_ scopes: Set<Scope>) -> String {
        scopes.sorted().map(\.rawValue).joined(separator: " ")
    }

    static func decode(_ row: any SQLRow) throws -> APIKey {
        APIKey(
            id: try row.string("id"),
            organizationID: try row.string("org_id"),
            name: try row.string("name"),
            hint: try row.string("hint"),
            hash: try row.bytes("key_hash"),
            scopes: Set(try row.string("scopes").split(separator: " ").compactMap { Scope(rawValue: String($0)) }),
            createdAt: try row.date("created_at"),
            createdBy: try row.string("created_by"),
            expiresAt: try row.optionalDate("expires_at"),
            revokedAt: try row.optionalDate("revoked_at")
        )
    }
}
