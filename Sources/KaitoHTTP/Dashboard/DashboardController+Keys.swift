import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The keys page (`org:admin`): the organisation's keys, creating one (shown once) and revoking.
extension DashboardController {
    func registerKeys(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/keys") { request, context in
            try await signedIn(request, context, scope: .orgAdmin) { caller, session in try await keysPage(caller, session, created: nil, error: nil) }
        }
        router.post("/keys") { request, context in
            try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in try await createKey(caller, session, form) }
        }
        router.post("/keys/{id}/revoke") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                do {
                    try await self.keys.revoke(id: id, by: caller)
                    return HTML.redirect("/keys")
                } catch let error as KaitoError {
                    return try await keysPage(caller, session, created: nil, error: error.detail, status: ProblemTable.status(for: error.code))
                }
            }
        }
    }

    func keysPage(
        _ caller: Caller, _ session: DashboardSession, created: (APIKey, APIKeySecret)?, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try caller.require(.orgAdmin)
        let keys = try await self.keys.list(by: caller, after: nil, limit: 200).items
        let tokens = try await self.tokens.list(by: caller, after: nil, limit: 100).items
        var notice = ""
        if let (key, secret) = created {
            notice = """
                <section class="created" aria-live="polite"><h2>Key created: \(HTML.escape(key.name))</h2>
                <p>Copy it now: it is shown only once.</p>
                <p>\(HTML.copyable(secret.value, id: "new-key"))</p></section>
                """
        }
        var rows = ""
        for key in keys {
            let state = key.revokedAt != nil ? "revoked" : (key.spentAt != nil ? "spent" : "active")
            let revoke = state == "active" ? HTML.postButton("/keys/\(key.id)/revoke", "Revoke", csrf: session.csrfToken) : ""
            rows += """
                <tr><td><strong>\(HTML.escape(key.name))</strong><br><span class="muted">\(HTML.escape(key.id)) · \(HTML.escape(key.hint))</span></td>
                <td>\(HTML.escape(key.scopes.map(\.rawValue).sorted().joined(separator: ", ")))</td><td>\(state)</td><td>\(revoke)</td></tr>
                """
        }
        let scopeBoxes = Scope.allCases.map { HTML.checkbox(name: "scope", value: $0.rawValue, label: $0.rawValue) }.joined()
        let tokenBoxes = tokens.map { HTML.checkbox(name: "token", value: $0.slug, label: $0.slug) }.joined()
        let body = """
            \(notice)\(HTML.error(error))
            <table><thead><tr><th>Key</th><th>Scopes</th><th>State</th><th></th></tr></thead><tbody>\(rows)</tbody></table>
            <h2>Create a key</h2>
            <form method="post" action="/keys">
            \(HTML.csrf(session.csrfToken))
            <label for="name">Name</label><input type="text" id="name" name="name" required maxlength="200">
            <fieldset><legend>Scopes</legend>\(scopeBoxes)</fieldset>
            <fieldset><legend>Restrictions (optional)</legend>
            <label for="cidrs">Allowed networks (CIDRs, one per line)</label><textarea id="cidrs" name="allowed_cidrs" rows="2" cols="40"></textarea>
            <label for="expires">Expires at (UTC)</label><input type="datetime-local" id="expires" name="expires_at">
            <label class="inline"><input type="checkbox" name="single_use" value="true"> Single use</label>
            \(tokens.isEmpty ? "" : "<p>Only these tokens (none ticked: every token)</p>" + tokenBoxes)
            <p>Requests per minute instead of the defaults (plan Enterprise; empty: the default)</p>
            <label for="limit-code">Code requests</label><input type="number" id="limit-code" name="rate_limit_code" min="1">
            <label for="limit-read">Other reads</label><input type="number" id="limit-read" name="rate_limit_read" min="1">
            <label for="limit-write">Writes</label><input type="number" id="limit-write" name="rate_limit_write" min="1">
            </fieldset>
            <p><button class="primary" type="submit">Create key</button></p>
            </form>
            """
        return HTML.response(HTML.page("Keys", signedIn: Self.navigation(caller, session), body), status: status)
    }

    func createKey(_ caller: Caller, _ session: DashboardSession, _ form: FormBody) async throws -> Response {
        // One per line, as browsers send a textarea: CRLF, which Swift reads as one Character (neither "\r" nor "\n").
        let cidrs = (form.first("allowed_cidrs") ?? "").split(whereSeparator: { $0.isNewline || $0 == "," })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // datetime-local has no zone: the form says UTC.
        let expires = form.first("expires_at").flatMap { $0.isEmpty ? nil : ($0.count == 16 ? $0 + ":00Z" : $0 + "Z") }
        let slugs = form.all("token")
        // An empty field keeps the default; anything but a number is refused by the draft's range check.
        func limit(_ name: String) -> Int? { form.filled(name).map { Int($0.trimmingCharacters(in: .whitespaces)) ?? -1 } }
        let overrides = RateLimitOverrides(code: limit("rate_limit_code"), read: limit("rate_limit_read"), write: limit("rate_limit_write"))
        let limits = overrides == RateLimitOverrides() ? nil : overrides
        do {
            var draft = try KeyDraft.validated(
                name: form.first("name"), scopes: form.all("scope"), allowedCIDRs: cidrs.isEmpty ? nil : cidrs, expiresAt: expires,
                singleUse: form.first("single_use") == "true", tokenSlugs: slugs.isEmpty ? nil : slugs, rateLimits: limits, now: clock.now())
            draft.userID = caller.user?.id
            let created = try await self.keys.create(draft, by: caller)
            return try await keysPage(caller, session, created: created, error: nil, status: .created)
        } catch let error as KaitoError {
            return try await keysPage(caller, session, created: nil, error: error.pageMessage, status: ProblemTable.status(for: error.code))
        }
    }
}
