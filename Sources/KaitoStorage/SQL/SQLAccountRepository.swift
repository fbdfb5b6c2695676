import Foundation
import KaitoCore
import SQLKit

struct SQLAccountRepository: AccountRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport

    func credentials(userID: String, organizationID: String, lock: Bool) async throws -> UserCredentials? {
        let suffix = lock ? dialect.rowLockSuffix : ""
        guard let row = try await db.raw("""
            SELECT * FROM user_credentials WHERE user_id = \(bind: userID) AND org_id = \(bind: organizationID)\(unsafeRaw: suffix)
            """).first() else { return nil }
        return UserCredentials(
            userID: try row.string("user_id"), organizationID: try row.string("org_id"), passwordHash: try row.string("password_hash"),
            sealedTOTPSecret: try row.decode(column: "totp_sealed", as: Data?.self).map { Array($0) },
            totpEnrolledAt: try row.optionalDate("totp_enrolled_at"), lastTOTPCounter: try row.optionalInt("totp_last_counter"),
            failedAttempts: try row.int("failed_attempts"), lockedUntil: try row.optionalDate("locked_until"), updatedAt: try row.date("updated_at"))
    }

    func saveCredentials(_ credentials: UserCredentials) async throws {
        try await db.raw("""
            INSERT INTO user_credentials (user_id, org_id, password_hash, totp_sealed, totp_enrolled_at, totp_last_counter,
                failed_attempts, locked_until, updated_at)
            VALUES (\(bind: credentials.userID), \(bind: credentials.organizationID), \(bind: credentials.passwordHash),
                \(bind: credentials.sealedTOTPSecret.map { Data($0) }), \(bind: credentials.totpEnrolledAt?.storedSeconds),
                \(bind: credentials.lastTOTPCounter.map(Int64.init)), \(bind: Int64(credentials.failedAttempts)),
                \(bind: credentials.lockedUntil?.storedSeconds), \(bind: credentials.updatedAt.storedSeconds))
            ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, totp_sealed = excluded.totp_sealed,
                totp_enrolled_at = excluded.totp_enrolled_at, totp_last_counter = excluded.totp_last_counter,
                failed_attempts = excluded.failed_attempts, locked_until = excluded.locked_until, updated_at = excluded.updated_at
            """).run()
    }

    func insertSession(_ session: DashboardSession) async throws {
        try await db.raw("""
            INSERT INTO dashboard_sessions (id, token_hash, user_id, org_id, second_factor_at, csrf_token, created_at, expires_at, last_seen_at)
            VALUES (\(bind: session.id), \(bind: Data(session.tokenHash)), \(bind: session.userID), \(bind: session.organizationID),
                \(bind: session.secondFactorAt?.storedSeconds), \(bind: session.csrfToken), \(bind: session.createdAt.storedSeconds),
                \(bind: session.expiresAt.storedSeconds), \(bind: session.lastSeenAt.storedSeconds))
            """).run()
    }

    func session(tokenHash: [UInt8]) async throws -> DashboardSession? {
        guard let row = try await db.raw("SELECT * FROM dashboard_sessions WHERE token_hash = \(bind: Data(tokenHash))").first() else { return nil }
        return DashboardSession(
            id: try row.string("id"), tokenHash: try row.bytes("token_hash"), userID: try row.string("user_id"),
            organizationID: try row.string("org_id"), secondFactorAt: try row.optionalDate("second_factor_at"),
            csrfToken: try row.string("csrf_token"), createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"),
            lastSeenAt: try row.date("last_seen_at"))
    }

    func updateSession(_ session: DashboardSession) async throws {
        try await db.raw("""
            UPDATE dashboard_sessions SET token_hash = \(bind: Data(session.tokenHash)), second_factor_at = \(bind: session.secondFactorAt?.storedSeconds),
                csrf_token = \(bind: session.csrfToken), expires_at = \(bind: session.expiresAt.storedSeconds),
                last_seen_at = \(bind: session.lastSeenAt.storedSeconds)
            WHERE id = \(bind: session.id)
            """).run()
    }

    func deleteSession(id: String) async throws {
        try await db.raw("DELETE FROM dashboard_sessions WHERE id = \(bind: id)").run()
    }

    func deleteEndedSessions(expiredBy now: Date, idleSince: Date) async throws -> Int {
        try await db.raw("""
            DELETE FROM dashboard_sessions WHERE expires_at <= \(bind: now.storedSeconds) OR last_seen_at <= \(bind: idleSince.storedSeconds) RETURNING id
            """).all().count
    }

    func deleteSessions(userID: String, organizationID: String, except keptID: String?) async throws -> Int {
        try await db.raw("""
            DELETE FROM dashboard_sessions WHERE user_id = \(bind: userID) AND org_id = \(bind: organizationID) AND id <> \(bind: keptID ?? "")
            RETURNING id
            """).all().count
    }

    func deleteCredentials(userID: String, organizationID: String) async throws {
        try await db.raw("DELETE FROM user_credentials WHERE user_id = \(bind: userID) AND org_id = \(bind: organizationID)").run()
    }
}
