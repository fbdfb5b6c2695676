import Foundation
import KaitoCore
import SQLKit

/// `idempotency_keys`, for SQLite and PostgreSQL alike.
struct SQLIdempotencyRepository: IdempotencyRepository {
    let db: any SQLDatabase

    func claim(_ record: IdempotencyRecord) async throws -> Bool {
        // One statement: of two servers claiming the same key at once, exactly one inserts.
        try await db.raw("""
            INSERT INTO idempotency_keys (id, org_id, key_id, idempotency_key, fingerprint, created_at)
            VALUES (\(bind: record.id), \(bind: record.organizationID), \(bind: record.keyID), \(bind: record.idempotencyKey),
                \(bind: record.fingerprint), \(bind: record.createdAt.storedSeconds))
            ON CONFLICT (org_id, key_id, idempotency_key) DO NOTHING
            RETURNING id
            """).first() != nil
    }

    func find(organizationID: String, keyID: String, idempotencyKey: String) async throws -> IdempotencyRecord? {
        try await db.raw("""
            SELECT * FROM idempotency_keys
            WHERE org_id = \(bind: organizationID) AND key_id = \(bind: keyID) AND idempotency_key = \(bind: idempotencyKey)
            """).first().map { row in
            IdempotencyRecord(
                id: try row.string("id"), organizationID: try row.string("org_id"), keyID: try row.string("key_id"),
                idempotencyKey: try row.string("idempotency_key"), fingerprint: try row.string("fingerprint"),
                committed: try row.int("committed") != 0, status: try row.optionalInt("status"), contentType: try row.optionalString("content_type"),
                location: try row.optionalString("location"), sealedBody: try row.optionalBytes("sealed_body"),
                createdAt: try row.date("created_at"))
        }
    }

    func markCommitted(id: String) async throws {
        try await db.raw("UPDATE idempotency_keys SET committed = 1 WHERE id = \(bind: id)").run()
    }

    func complete(id: String, status: Int, contentType: String?, location: String?, sealedBody: [UInt8]) async throws {
        try await db.raw("""
            UPDATE idempotency_keys SET status = \(bind: status), content_type = \(bind: contentType), location = \(bind: location),
                sealed_body = \(bind: Data(sealedBody))
            WHERE id = \(bind: id)
            """).run()
    }

    func release(id: String, orCreatedBefore before: Date) async throws {
        try await db.raw("""
            DELETE FROM idempotency_keys
            WHERE id = \(bind: id) AND ((status IS NULL AND committed = 0) OR created_at < \(bind: before.storedSeconds))
            """).run()
    }

    func sweep(before: Date) async throws -> Int {
        try await db.raw("DELETE FROM idempotency_keys WHERE created_at < \(bind: before.storedSeconds) RETURNING id").all().count
    }
}
