import Foundation

/// Tokens: creation, metadata, codes, and the seed endpoints.
public struct TokenService: Sendable {
    let work: UnitOfWork
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource

    /// Tokens kept through `work`, seeds sealed under `keyring`'s data keys, ids drawn from `clock` and `random`.
    public init(work: UnitOfWork, keyring: Keyring, clock: any KaitoClock, random: any RandomSource) {
        self.work = work
        self.keyring = keyring
        self.clock = clock
        self.random = random
    }

    /// Creates a token from a secret or an `otpauth://` URI, its seed sealed (audited `token.create`).
    /// - Throws: `validation_failed` naming a bad field; `token_not_allowed`; `conflict` when the slug is taken.
    public func create(_ draft: TokenDraft, by caller: Caller) async throws -> Token {
        guard let slug = draft.slug else { throw KaitoError.validation("slug", "is required") }
        guard Token.isValidSlug(slug) else { throw KaitoError.validation("slug", "must match [a-z0-9][a-z0-9-]{0,62}") }
        try caller.requireToken(slug)
        let seed = try draft.validatedSeed()
        let issuer = try TokenDraft.text(draft.issuer, field: "issuer") ?? seed.issuer
        let account = try TokenDraft.text(draft.account, field: "account") ?? seed.account
        let name = try TokenDraft.text(draft.name, field: "name") ?? slug
        let now = clock.now()
        let id = Identifier.make(prefix: Token.idPrefix, at: now, random: random)
        return try await work.run(for: caller, audit: .token(.tokenCreate, slug)) { session in
            let dataKey = try await keyring.sealingKey(organizationID: caller.organizationID, session: session)
            let token = Token(
                id: id, organizationID: caller.organizationID, slug: slug, name: name, issuer: issuer, account: account,
                parameters: seed.parameters, sealedSeed: try dataKey.sealSeed(seed.secret, tokenID: id, random: random),
                createdAt: now, updatedAt: now
            )
            try await session.tokens.insert(token)
            return token
        }
    }

    /// One page of the tokens the caller's key may reach, in slug order (from memory when it may be).
    public func list(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<Token> {
        // From memory when the key's use needs no record now (the page is what the query below would return).
        if !caller.mustRecordUse(at: clock.now()), let all = try await work.tokenList(organizationID: caller.organizationID) {
            let after = Array((cursor ?? "").utf8)
            let rows = all.lazy.filter { caller.allowsToken($0.slug) && after.lexicographicallyPrecedes($0.slug.utf8) }.prefix(limit + 1)
            return Page.from(Array(rows), limit: limit, cursor: \.slug)
        }
        let rows = try await work.run(for: caller) { session in
            try await session.tokens.list(organizationID: caller.organizationID, slugs: caller.key.tokenSlugs, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.slug)
    }

    /// One page of the tokens the caller's key may reach whose slug, name, issuer or account contains `text`
    /// (case-insensitive), in slug order: the dashboard's search. Reads the list in pages of 200 and keeps the matches.
    public func search(_ text: String, by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<Token> {
        let needle = text.lowercased()
        func matches(_ token: Token) -> Bool {
            [token.slug, token.name, token.issuer ?? "", token.account ?? ""].contains { $0.lowercased().contains(needle) }
        }
        var found: [Token] = []
        var after = cursor
        while found.count <= limit {
            let page = try await list(by: caller, after: after, limit: PageLimits.range.upperBound)
            found += page.items.filter(matches)
            guard let next = page.nextCursor else { break }
            after = next
        }
        return Page.from(Array(found.prefix(limit + 1)), limit: limit, cursor: \.slug)
    }

    /// The token `slug` of the caller's organisation, its seed still sealed.
    /// - Throws: `not_found` for an unknown slug; `token_not_allowed` for a key bound to other tokens.
    public func get(slug: String, by caller: Caller) async throws -> Token {
        try await work.run(for: caller) { session in try await find(slug: slug, caller: caller, session: session) }
    }

    /// The fields of `PATCH /v1/tokens/{slug}`; nil leaves a field as it is, an empty string clears it.
    public struct MetadataChange: Sendable {
        public var name: String?
        public var issuer: String?
        public var account: String?
        /// A change of the fields given; the others stay as they are.
        public init(name: String? = nil, issuer: String? = nil, account: String? = nil) {
            self.name = name
            self.issuer = issuer
            self.account = account
        }
    }

    /// Changes a token's name, issuer or account (audited `token.update`) and returns it as stored.
    /// - Throws: `validation_failed` for an empty name or a bad field; `not_found`; `token_not_allowed`.
    public func update(slug: String, _ change: MetadataChange, by caller: Caller) async throws -> Token {
        let name = try TokenDraft.text(change.name, field: "name")
        if change.name != nil && name == nil { throw KaitoError.validation("name", "must not be empty") }
        let issuer = try TokenDraft.text(change.issuer, field: "issuer")
        let account = try TokenDraft.text(change.account, field: "account")
        let now = clock.now()
        return try await work.run(for: caller, audit: .token(.tokenUpdate, slug)) { session in
            var token = try await find(slug: slug, caller: caller, session: session)
            if let name { token.name = name }
            if change.issuer != nil { token.issuer = issuer }
            if change.account != nil { token.account = account }
            token.updatedAt = now
            try await session.tokens.update(token)
            return token
        }
    }

    /// Deletes a token and every member's grant of it (audited `token.delete`).
    /// - Throws: `token_not_allowed` for a key bound to other tokens; `not_found` for an unknown slug.
    public func delete(slug: String, by caller: Caller) async throws {
        try caller.requireToken(slug)
        try await work.run(for: caller, audit: .token(.tokenDelete, slug)) { session in
            guard try await session.tokens.delete(slug: slug, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The token")
            }
            try await session.users.deleteGrants(tokenSlug: slug, organizationID: caller.organizationID)
        }
    }

    /// The current code. With `minValid`, waits for the next period when fewer seconds than that are left.
    /// - Throws: `validation_failed` on `min_valid` outside 0..<period, `not_found` for an unknown slug.
    public func code(slug: String, minValid: Int?, by caller: Caller) async throws -> GeneratedCode {
        try caller.requireToken(slug)
        guard Token.isValidSlug(slug), let token = try await work.token(slug: slug, organizationID: caller.organizationID) else {
            throw KaitoError.notFound("The token")
        }
        // Checked before the audit event: a refused request must not spend a single-use key.
        if let minValid, !(0..<token.parameters.period).contains(minValid) {
            throw KaitoError.validation("min_valid", "must be between 0 and \(token.parameters.period - 1) for this token")
        }
        // The seed is kept sealed in memory and opened per request.
        let dataKey = try await keyring.dataKey(organizationID: caller.organizationID, opening: [token.sealedSeed], storage: work.storage)
        let secret = try dataKey.openSeed(token.sealedSeed, tokenID: token.id)
        try await work.recordRead(for: caller, audit: .token(.tokenCodeRead, slug))
        var now = clock.now()
        var generated = TOTP.code(secret: secret, at: now, parameters: token.parameters)
        if let minValid, generated.expiresIn < minValid {
            let nextPeriod = Date(timeIntervalSince1970: (floor(now.timeIntervalSince1970) + Double(generated.expiresIn)))
            try await clock.sleep(until: nextPeriod)
            now = max(clock.now(), nextPeriod)
            generated = TOTP.code(secret: secret, at: now, parameters: token.parameters)
        }
        return generated
    }

    /// The current code of a token that a dashboard page already shows, for the page's own refresh when a code
    /// expires: the same checks as `code`, and no audit event of its own. The page view that showed the token recorded
    /// its `token.code.read`; the refreshes it makes while it stays open are part of that view, and they end with the
    /// session's idle timeout, which they do not extend (`SignInService.caller(extendsSession:)`). Dashboard only:
    /// every API read is audited.
    public func codeForOpenPage(slug: String, by caller: Caller) async throws -> GeneratedCode {
        guard caller.user != nil else { throw KaitoError(.insufficientScope, "Only a dashboard page refreshes its codes.") }
        try caller.requireToken(slug)
        guard Token.isValidSlug(slug), let token = try await work.token(slug: slug, organizationID: caller.organizationID) else {
            throw KaitoError.notFound("The token")
        }
        let dataKey = try await keyring.dataKey(organizationID: caller.organizationID, opening: [token.sealedSeed], storage: work.storage)
        let secret = try dataKey.openSeed(token.sealedSeed, tokenID: token.id)
        return TOTP.code(secret: secret, at: clock.now(), parameters: token.parameters)
    }

    /// The seed in the forms an authenticator app imports.
    public func seed(slug: String, by caller: Caller) async throws -> OTPAuthURI {
        try await work.run(for: caller, audit: .token(.tokenSeedRead, slug)) { session in
            let token = try await find(slug: slug, caller: caller, session: session)
            let dataKey = try await keyring.dataKey(organizationID: caller.organizationID, opening: [token.sealedSeed], session: session)
            let secret = try dataKey.openSeed(token.sealedSeed, tokenID: token.id)
            return OTPAuthURI(issuer: token.issuer, account: token.account, secret: secret, parameters: token.parameters)
        }
    }

    /// Replaces the seed (and, from an `otpauth://` URI or explicit fields, the parameters).
    public func rotateSeed(slug: String, _ draft: TokenDraft, by caller: Caller) async throws -> Token {
        let now = clock.now()
        return try await work.run(for: caller, audit: .token(.tokenSeedRotate, slug)) { session in
            var token = try await find(slug: slug, caller: caller, session: session)
            let seed = try draft.validatedSeed(base: token.parameters)
            let dataKey = try await keyring.sealingKey(organizationID: caller.organizationID, session: session)
            token.sealedSeed = try dataKey.sealSeed(seed.secret, tokenID: token.id, random: random)
            token.parameters = seed.parameters
            token.updatedAt = now
            try await session.tokens.update(token)
            return token
        }
    }

    private func find(slug: String, caller: Caller, session: any StorageSession) async throws -> Token {
        try caller.requireToken(slug)
        guard Token.isValidSlug(slug), let token = try await session.tokens.find(slug: slug, organizationID: caller.organizationID) else {
            throw KaitoError.notFound("The token")
        }
        return token
    }
}
