import Foundation
import KaitoCore
import SQLKit

struct SQLUserRepository: UserRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport

    func insert(_ user: OrgUser) async throws {
        try await dialect.mappingConflict("The organisation already has a user with the email \(user.email).") {
            try await db.raw("""
                INSERT INTO users (id, org_id, email, name, role, created_at)
                VALUES (\(bind: user.id), \(bind: user.organizationID), \(bind: user.email), \(bind: user.name), \(bind: user.role.rawValue),
                    \(bind: user.createdAt.storedSeconds))
                """).run()
        }
    }

    func find(id: String, organizationID: String) async throws -> OrgUser? {
        try await db.raw("SELECT * FROM users WHERE id = \(bind: id) AND org_id = \(bind: organizationID)").first().map(Self.decode)
    }

    func find(email: String, organizationID: String) async throws -> OrgUser? {
        try await db.raw("SELECT * FROM users WHERE email = \(bind: email) AND org_id = \(bind: organizationID)").first().map(Self.decode)
    }

    func list(organizationID: String, after cursor: String?, limit: Int) async throws -> [OrgUser] {
        try await db.raw("""
            SELECT * FROM users WHERE org_id = \(bind: organizationID) AND id > \(bind: cursor ?? "") ORDER BY id LIMIT \(literal: limit)
            """).all().map(Self.decode)
    }

    func delete(id: String, organizationID: String) async throws -> Bool {
        try await !db.raw("DELETE FROM users WHERE id = \(bind: id) AND org_id = \(bind: organizationID) RETURNING id").all().isEmpty
    }

    func lockOwners(organizationID: String) async throws -> [String] {
        try await db.raw("""
            SELECT id FROM users WHERE org_id = \(bind: organizationID) AND role = 'owner' ORDER BY id\(unsafeRaw: dialect.rowLockSuffix)
            """).all().map { try $0.string("id") }
    }

    func grants(userID: String, organizationID: String) async throws -> [String] {
        try await db.raw("""
            SELECT token_slug FROM user_token_grants WHERE org_id = \(bind: organizationID) AND user_id = \(bind: userID) ORDER BY token_slug
            """).all().map { try $0.string("token_slug") }
    }

    func setGrants(userID: String, organizationID: String, slugs: [String], at: Date) async throws {
        try await deleteGrants(userID: userID, organizationID: organizationID)
        for slug in Set(slugs).sorted() {
            try await db.raw("""
                INSERT INTO user_token_grants (org_id, user_id, token_slug, created_at)
                VALUES (\(bind: organizationID), \(bind: userID), \(bind: slug), \(bind: at.storedSeconds))
                """).run()
        }
    }

    func deleteGrants(userID: String, organizationID: String) async throws {
        try await db.raw("DELETE FROM user_token_grants WHERE org_id = \(bind: organizationID) AND user_id = \(bind: userID)").run()
    }

    func deleteGrants(tokenSlug: String, organizationID: String) async throws {
        try await db.raw("DELETE FROM user_token_grants WHERE org_id = \(bind: organizationID) AND token_slug = \(bind: tokenSlug)").run()
    }

    static func decode(_ row: any SQLRow) throws -> OrgUser {
        OrgUser(
            id: try row.string("id"), organizationID: try row.string("org_id"), email: try row.string("email"),
            name: try row.optionalString("name"), role: try row.value("role", as: OrgUser.Role.self),
            createdAt: try row.date("created_at"))
    }
}
