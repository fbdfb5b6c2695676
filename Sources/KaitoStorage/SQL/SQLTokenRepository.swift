import Foundation
import KaitoCore
import SQLKit

struct SQLTokenRepository: TokenRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport
    let changes: ChangeNotifier

    func insert(_ token: Token) async throws {
        // A new token changes every cached token list of its organisation.
        try await changes.notify(CacheTopic.tokens)
        try await dialect.mappingConflict("A token with the slug '\(token.slug)' already exists.") {
            try await db.raw("""
                INSERT INTO tokens (id, org_id, slug, name, issuer, account, kind, algorithm, digits, period, sealed_seed,
                                    created_at, updated_at)
                VALUES (\(bind: token.id), \(bind: token.organizationID), \(bind: token.slug), \(bind: token.name),
                        \(bind: token.issuer), \(bind: token.account), \(bind: token.parameters.kind.rawValue),
                        \(bind: token.parameters.algorithm.rawValue), \(bind: token.parameters.digits),
                        \(bind: token.parameters.period), \(bind: Data(token.sealedSeed)),
                        \(bind: token.createdAt.storedSeconds), \(bind: token.updatedAt.storedSeconds))
                """).run()
        }
    }

    func find(slug: String, organizationID: String) async throws -> Token? {
        try await db.raw("SELECT * FROM tokens WHERE org_id = \(bind: organizationID) AND slug = \(bind: slug)")
            .first().map(Self.decode)
    }

    func list(organizationID: String, slugs: [String]?, after cursor: String?, limit: Int) async throws -> [Token] {
        if let slugs {
            guard !slugs.isEmpty else { return [] }
            return try await db.raw("""
                SELECT * FROM tokens WHERE org_id = \(bind: organizationID) AND slug\(unsafeRaw: dialect.byteOrder) > \(bind: cursor ?? "")
                AND slug IN (\(binds: slugs)) ORDER BY slug\(unsafeRaw: dialect.byteOrder) LIMIT \(literal: limit)
                """).all().map(Self.decode)
        }
        return try await db.raw("""
            SELECT * FROM tokens WHERE org_id = \(bind: organizationID) AND slug\(unsafeRaw: dialect.byteOrder) > \(bind: cursor ?? "")
            ORDER BY slug\(unsafeRaw: dialect.byteOrder) LIMIT \(literal: limit)
            """).all().map(Self.decode)
    }

    func update(_ token: Token) async throws {
        try await changes.notify(CacheTopic.tokens)
        try await db.raw("""
            UPDATE tokens SET name = \(bind: token.name), issuer = \(bind: token.issuer), account = \(bind: token.account),
                kind = \(bind: token.parameters.kind.rawValue), algorithm = \(bind: token.parameters.algorithm.rawValue),
                digits = \(bind: token.parameters.digits), period = \(bind: token.parameters.period),
                sealed_seed = \(bind: Data(token.sealedSeed)), updated_at = \(bind: token.updatedAt.storedSeconds)
            WHERE id = \(bind: token.id) AND org_id = \(bind: token.organizationID)
            """).run()
    }

    func delete(slug: String, organizationID: String) async throws -> Bool {
        try await changes.notify(CacheTopic.tokens)
        let rows = try await db.raw("""
            DELETE FROM tokens WHERE org_id = \(bind: organizationID) AND slug = \(bind: slug) RETURNING id
            """).all()
        return !rows.isEmpty
    }

    static func decode(_ row: any SQLRow) throws -> Token {
        Token(
            id: try row.string("id"),
            organizationID: try row.string("org_id"),
            slug: try row.string("slug"),
            name: try row.string("name"),
            issuer: try row.optionalString("issuer"),
            account: try row.optionalString("account"),
            parameters: TOTPParameters(
                kind: try row.value("kind", as: TokenKind.self),
                algorithm: try row.value("algorithm", as: OTPAlgorithm.self),
                digits: try row.int("digits"),
                period: try row.int("period")
            ),
            sealedSeed: try row.bytes("sealed_seed"),
            createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at")
        )
    }
}
