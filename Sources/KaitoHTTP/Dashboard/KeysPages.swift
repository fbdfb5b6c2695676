import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The keys page (`org:admin`): the organisation's keys, creating one (shown once) and revoking.
struct KeysPages: DashboardPage {
    let shared: DashboardShared
    let keys: KeyService
    let tokens: TokenService
    let users: UserService
    let audit: AuditService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/keys") { request, context in
            var query = KeysQuery(request)
            return try await signedIn(request, context, scope: .orgAdmin) { caller, session in
                // The key a create just made, shown once: the cookie that carried it is cleared with this page.
                try await takeFlash(request, session: session, path: "/keys") { secret in
                    query.createdKey = secret
                    return try await keysPage(caller, session, error: nil, query: query)
                }
            }
        }
        router.post("/keys") { request, context in
            try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in try await createKey(caller, session, form) }
        }
        router.post("/keys/{id}/revoke") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                do {
                    let key = try await self.keys.get(id: id, by: caller)
                    try Self.confirmed(form, key.name)
                    try await self.keys.revoke(id: id, by: caller)
                    // The page names the key from its id (never from text in the link).
                    return HTML.redirect("/keys?revoked=" + key.id)
                } catch let error as KaitoError where error.code != .notFound {
                    return try await keysPage(caller, session, error: error.pageMessage, status: ProblemTable.status(for: error.code))
                }
            }
        }
    }

    /// What the keys page shows: keys no longer usable too (`all`), the page after a key (`after`), and what a
    /// redirect after a revocation says.
    struct KeysQuery {
        var all = false
        var after: String?
        var revoked: String?
        /// The key the redirect after a create names (`created`), and its secret when the flash cookie still held it.
        var created: String?
        var createdKey: String?

        init() {}

        init(_ request: Request) {
            all = request.uri.queryParameters["all"] == "1"
            after = HTML.cursor(request)
            revoked = request.uri.queryParameters["revoked"].map { String($0.prefix(200)) }
            created = request.uri.queryParameters["created"].map { String($0.prefix(100)) }
        }
    }

    /// Tokens a picker shows as checkboxes; the rest are typed (`moreTokens`).
    static let pickerSize = 100

    /// Below a token picker's checkboxes: a field for tokens beyond them, by slug, holding those already picked that
    /// no checkbox shows (so that saving the form keeps them).
    /// The tokens a picker's form names: its checkboxes and its `more_tokens` field, each once.
    static func pickedTokens(_ form: FormBody) -> [String] {
        let typed = (form.first("more_tokens") ?? "").split(whereSeparator: { $0.isNewline || $0 == "," || $0 == " " }).map(String.init)
        var seen = Set<String>()
        return (form.all("token") + typed).filter { seen.insert($0).inserted }
    }

    /// A key's state as the keys page shows it: `expired` once its expiry has passed, though never revoked.
    static func state(of key: APIKey, at now: Date) -> String {
        if key.revokedAt != nil { return "revoked" }
        if key.spentAt != nil { return "spent" }
        if let expiry = key.expiresAt, expiry <= now { return "expired" }
        return "active"
    }

    /// A key's restrictions in words (networks, tokens, single use, own rate limits), or "none".
    static func restrictions(of key: APIKey) -> String {
        var parts: [String] = []
        if !key.allowedCIDRs.isEmpty { parts.append("from " + key.allowedCIDRs.map(\.description).joined(separator: ", ")) }
        if let slugs = key.tokenSlugs { parts.append("tokens " + slugs.joined(separator: ", ")) }
        if key.singleUse { parts.append("single use") }
        let limits = [("code", key.rateLimits.code), ("read", key.rateLimits.read), ("write", key.rateLimits.write)]
            .compactMap { name, value in value.map { "\(name) \($0)/min" } }
        if !limits.isEmpty { parts.append(limits.joined(separator: ", ")) }
        return parts.isEmpty ? "none" : parts.joined(separator: "; ")
    }

    func keysPage(
        _ caller: Caller, _ session: DashboardSession, error: String?, query: KeysQuery = KeysQuery(),
        entered: FormBody? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try caller.require(.orgAdmin)
        let now = clock.now()
        let page = try await self.keys.list(by: caller, after: query.after, limit: DashboardShared.pageSize)
        let keys = query.all ? page.items : page.items.filter { Self.state(of: $0, at: now) == "active" }
        let hidden = page.items.count - keys.count
        let emails = Dictionary(try await users.list(by: .caller(caller), after: nil, limit: PageLimits.range.upperBound).items.map { ($0.id, $0.email) },
                                uniquingKeysWith: { first, _ in first })
        let tokens = try await self.tokens.list(by: caller, after: nil, limit: Self.pickerSize).items
        // The keys a redirect names, by id, wherever their page is (never words from the link itself).
        func named(_ id: String?) async -> APIKey? {
            guard let id else { return nil }
            return try? await self.keys.get(id: id, by: caller)
        }
        struct Created { let name: String, secret: Templates.Copyable }
        struct LastUse { let at: Templates.Time, ip: String? }
        struct Recent { let chart: String, standing: String? }
        struct Row {
            let state: String, name: String, id: String, hint: String, issuedTo: String, scopes: String, restrictions: String
            let expiresAt: Templates.Time?, lastUse: LastUse?, recent: Recent?, revoke: Templates.Confirmation?
        }
        struct Entered { let name, cidrs, expiresAt: String, singleUse: Bool, code, read, write: String }
        struct Page {
            let notice: String?, created: Created?, error: String?, keys: [Row], showingAll: Bool, hiddenCount: Int?, nextPage: String
            let csrf: String, entered: Entered, scopeBoxes: [Templates.Checkbox], picker: Templates.TokenPicker?
        }
        var notice = await named(query.revoked).flatMap { $0.revokedAt == nil ? nil : $0 }.map { "Key \($0.name) revoked: it no longer authenticates." }
        var created: Created?
        if let key = await named(query.created) {
            if let secret = query.createdKey, APIKeySecret(parsing: secret) != nil {
                (notice, created) = (nil, Created(name: key.name, secret: Templates.Copyable(value: secret, id: "new-key")))
            } else {
                notice = "Key \(key.name) created. It was shown once, when it was made; if it was not copied then, revoke it and make another."
            }
        }
        // Each key's code fetches and denials of the last 24 hours (one query), and what its limits leave it now.
        let charted = caller.key.scopes.contains(.auditRead)
        let activity = charted ? Dictionary(grouping: try await audit.activity(by: caller, now: now), by: \.keyID) : [:]
        var rows: [Row] = []
        for key in keys {
            let state = Self.state(of: key, at: now)
            var standing: [String] = []
            if state == "active" {
                for group in RateLimitGroup.allCases {
                    let decision = try await rateLimits.peek(for: key, group: group, at: now)
                    standing.append("\(group.rawValue) \(decision.remaining)/\(decision.limit)")
                }
            }
            // The chart is SVG this server draws (`HTML.activityChart`): markup, not a value to escape.
            let chart = charted ? HTML.activityChart(activity[key.id] ?? [], now: now, what: key.name) : ""
            let recent = chart.isEmpty && standing.isEmpty ? nil : Recent(chart: chart, standing: standing.isEmpty ? nil : standing.joined(separator: " · "))
            rows.append(Row(
                state: state, name: key.name, id: key.id, hint: key.hint,
                issuedTo: key.userID.map { "issued to " + (emails[$0] ?? $0) } ?? (key.createdBy == "bootstrap" ? "the bootstrap key" : "issued to nobody"),
                scopes: key.scopes.map(\.rawValue).sorted().joined(separator: ", "), restrictions: Self.restrictions(of: key),
                expiresAt: key.expiresAt.map(Templates.Time.init), lastUse: key.lastUsedAt.map { LastUse(at: Templates.Time($0), ip: key.lastUsedIP) },
                recent: recent,
                revoke: state == "revoked" ? nil : Templates.Confirmation(
                    action: "/keys/\(key.id)/revoke", label: "Revoke", expected: key.name,
                    consequence: "Every request with this key is refused from now on; this cannot be undone.", csrf: session.csrfToken)))
        }
        // After a refusal the form comes back as it was sent.
        func value(_ name: String) -> String { entered?.first(name) ?? "" }
        let scopesEntered = Set(entered?.all("scope") ?? [])
        let tokensEntered = entered.map(Self.pickedTokens) ?? []
        let body = Templates.render("keys", Page(
            notice: notice, created: created, error: error, keys: rows, showingAll: query.all, hiddenCount: !query.all && hidden > 0 ? hidden : nil,
            nextPage: HTML.nextPage("/keys", cursor: page.nextCursor, keeping: query.all ? [("all", "1")] : []), csrf: session.csrfToken,
            entered: Entered(
                name: value("name"), cidrs: value("allowed_cidrs"), expiresAt: value("expires_at"), singleUse: entered?.first("single_use") == "true",
                code: value("rate_limit_code"), read: value("rate_limit_read"), write: value("rate_limit_write")),
            scopeBoxes: Scope.allCases.map {
                Templates.Checkbox(name: "scope", value: $0.rawValue, label: $0.rawValue, checked: scopesEntered.contains($0.rawValue))
            },
            picker: tokens.isEmpty ? nil : Templates.TokenPicker(shown: tokens, picked: tokensEntered, pickerSize: Self.pickerSize) { $0.slug }))
        return HTML.response(HTML.page("Keys", signedIn: Self.navigation(caller, session), body), status: status)
    }

    func createKey(_ caller: Caller, _ session: DashboardSession, _ form: FormBody) async throws -> Response {
        // One per line, as browsers send a textarea: CRLF, which Swift reads as one Character (neither "\r" nor "\n").
        let cidrs = (form.first("allowed_cidrs") ?? "").split(whereSeparator: { $0.isNewline || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // datetime-local has no zone: the page's script sends the instant the reader meant in their own zone
        // (`expires_at_utc`); without the script, the form says UTC.
        let expires = form.filled("expires_at_utc") ?? form.first("expires_at").flatMap { $0.isEmpty ? nil : ($0.count == 16 ? $0 + ":00Z" : $0 + "Z") }
        let slugs = Self.pickedTokens(form)
        // An empty field keeps the default; anything but a number is refused by the draft's range check.
        func limit(_ name: String) -> Int? { form.filled(name).map { Int($0.trimmingCharacters(in: .whitespaces)) ?? -1 } }
        let overrides = RateLimitOverrides(code: limit("rate_limit_code"), read: limit("rate_limit_read"), write: limit("rate_limit_write"))
        let limits = overrides == RateLimitOverrides() ? nil : overrides
        do {
            var draft = try KeyDraft.validated(
                name: form.first("name"), scopes: form.all("scope"), allowedCIDRs: cidrs.isEmpty ? nil : cidrs, expiresAt: expires,
                singleUse: form.first("single_use") == "true", tokenSlugs: slugs.isEmpty ? nil : slugs, rateLimits: limits, now: clock.now())
            draft.userID = caller.user?.id
            let (key, secret) = try await self.keys.create(draft, by: caller)
            // Post, redirect, get: a reload of the page that shows the key neither makes another nor shows it again.
            return try redirect("/keys?created=" + key.id, showingOnce: secret.value, path: "/keys", session: session)
        } catch let error as KaitoError {
            return try await refused(error) { try await keysPage(caller, session, error: error.pageMessage, entered: form, status: ProblemTable.status(for: error.code)) }
        }
    }
}
