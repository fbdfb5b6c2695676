import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// Adding, editing and deleting tokens from the dashboard (`tokens:write`), with the API's rules: a token comes from an
/// `otpauth://` URI (what an authenticator app exports, or a QR code holds) or from a secret typed in; replacing a
/// seed asks for a code of the user's second factor again, as viewing one does; deleting asks for the slug typed.
/// Every change answers with a redirect (303) to the page that shows its result, so a reload never repeats it.
struct TokensPages: DashboardPage {
    let shared: DashboardShared
    let tokens: TokenService
    let audit: AuditService
    let pageViews: PageViewTicket

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/tokens") { request, context in
            try await signedIn(request, context, scope: .tokensRead) { caller, session in try await tokensPage(caller, session, query: TokensQuery(request)) }
        }
        router.get("/tokens/codes") { request, context in try await openPageCodes(request, context) }
        router.post("/tokens") { request, context in
            try await signedInForm(request, context, scope: .tokensWrite) { caller, session, form in
                let draft = TokenDraft(
                    slug: form.filled("slug"), name: form.filled("name"), issuer: form.filled("issuer"), account: form.filled("account"),
                    secret: form.filled("secret"), otpauthURI: form.filled("otpauth_uri"), algorithm: form.filled("algorithm"),
                    digits: form.filled("digits").map { Int($0) ?? -1 }, period: form.filled("period").map { Int($0) ?? -1 })
                do {
                    let token = try await self.tokens.create(draft, by: caller)
                    return HTML.redirect("/tokens?added=" + token.slug)
                } catch let error as KaitoError {
                    return try await refused(error) {
                        try await tokensPage(caller, session, query: TokensQuery(), entered: form, error: error.pageMessage, status: ProblemTable.status(for: error.code))
                    }
                }
            }
        }
        router.get("/tokens/{slug}") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            let notice = request.uri.queryParameters["notice"].map(String.init)
            return try await signedIn(request, context, scope: .tokensRead) { caller, session in
                try await tokenPage(slug: slug, caller, session, notice: TokenNotice(rawValue: notice ?? ""), error: nil)
            }
        }
        router.post("/tokens/{slug}") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            return try await signedInForm(request, context, scope: .tokensWrite) { caller, session, form in
                do {
                    let change = TokenService.MetadataChange(name: form.first("name"), issuer: form.first("issuer"), account: form.first("account"))
                    _ = try await self.tokens.update(slug: slug, change, by: caller)
                    return HTML.redirect("/tokens/\(slug)?notice=saved")
                } catch let error as KaitoError where error.code != .notFound {
                    return try await refused(error) {
                        try await tokenPage(slug: slug, caller, session, notice: nil, error: error.pageMessage, entered: form, status: ProblemTable.status(for: error.code))
                    }
                }
            }
        }
        router.post("/tokens/{slug}/rotate") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            return try await signedInForm(request, context, scope: .tokensWrite) { caller, session, form in
                guard let user = caller.user else { throw KaitoError(.insufficientScope, "Only a signed-in user may replace a seed.") }
                do {
                    let token = try await self.tokens.get(slug: slug, by: caller)
                    let draft = TokenDraft(
                        secret: form.filled("secret"), otpauthURI: form.filled("otpauth_uri"), algorithm: form.filled("algorithm"),
                        digits: form.filled("digits").map { Int($0) ?? -1 }, period: form.filled("period").map { Int($0) ?? -1 })
                    // The new seed is checked first: a typo in it must not use up a code of the second factor.
                    _ = try draft.validatedSeed(base: token.parameters)
                    try await signIn.confirmSecondFactor(
                        user: user, code: form.first("code") ?? "", address: caller.address?.description, origin: caller.origin)
                    _ = try await self.tokens.rotateSeed(slug: slug, draft, by: caller)
                    return HTML.redirect("/tokens/\(slug)?notice=rotated")
                } catch let error as KaitoError where error.code != .notFound {
                    let message = error.code == .signInFailed ? "That code from your authenticator app was not accepted; the seed is unchanged." : error.pageMessage
                    return try await tokenPage(slug: slug, caller, session, notice: nil, error: message, status: ProblemTable.status(for: error.code))
                }
            }
        }
        router.post("/tokens/{slug}/delete") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            return try await signedInForm(request, context, scope: .tokensWrite) { caller, session, form in
                guard form.first("confirm")?.trimmingCharacters(in: .whitespaces) == slug else {
                    _ = try await self.tokens.get(slug: slug, by: caller)
                    return try await tokenPage(slug: slug, caller, session, notice: nil,
                                               error: "Type the token's slug, \(slug), to delete it.", status: .unprocessableContent)
                }
                try await self.tokens.delete(slug: slug, by: caller)
                return HTML.redirect("/tokens?deleted=" + slug)
            }
        }
    }

    /// What a redirect after a change tells the token's page.
    enum TokenNotice: String {
        case saved, rotated

        var message: String {
            switch self {
            case .saved: "Saved."
            case .rotated: "The seed was replaced: the codes from now on come from the new one."
            }
        }
    }

    /// A picture of the QR code instead of its URI: read in the browser (`HTML.qrReader`), never uploaded (the field has
    /// no name, so the form does not send it), it fills the URI field.
    static let qrField = """
        <label for="qr-image">or a picture of the QR code (read in this browser, not uploaded)</label><input type="file" id="qr-image" accept="image/*" data-qr-target="otpauth_uri">
        <p class="muted" id="qr-image-status" role="status"></p>
        """

    /// The "Add a token" form of the tokens page, with what was entered (never the secret or URI) after a refusal.
    static func addTokenForm(csrf: String, entered: FormBody?) -> String {
        func value(_ name: String) -> String { HTML.escape(entered?.first(name) ?? "") }
        func selected(_ name: String, _ option: String) -> String { entered?.first(name) == option ? " selected" : "" }
        return """
            <details\(entered == nil ? "" : " open")><summary>Add a token</summary>
            <form method="post" action="/tokens">
            \(HTML.csrf(csrf))
            <label for="slug">Slug (what the API and CLI call it: a-z, 0-9, -)</label><input type="text" id="slug" name="slug" value="\(value("slug"))" required pattern="[a-z0-9][a-z0-9-]*" autocomplete="off">
            <label for="token-name">Name</label><input type="text" id="token-name" name="name" value="\(value("name"))" autocomplete="off">
            <label for="otpauth_uri">otpauth:// URI (from an authenticator app's export or a QR code)</label><input type="text" id="otpauth_uri" name="otpauth_uri" autocomplete="off" spellcheck="false">
            \(Self.qrField)
            <label for="secret">or the secret (base32)</label><input type="password" id="secret" name="secret" autocomplete="off" spellcheck="false">
            <details><summary>Issuer, account and parameters (a URI carries its own)</summary>
            <label for="issuer">Issuer</label><input type="text" id="issuer" name="issuer" value="\(value("issuer"))" autocomplete="off">
            <label for="account">Account</label><input type="text" id="account" name="account" value="\(value("account"))" autocomplete="off">
            <label for="algorithm">Algorithm</label><select id="algorithm" name="algorithm"><option value="">SHA1 (most services)</option><option\(selected("algorithm", "SHA256"))>SHA256</option><option\(selected("algorithm", "SHA512"))>SHA512</option></select>
            <label for="digits">Digits</label><input type="number" id="digits" name="digits" min="6" max="8" placeholder="6" value="\(value("digits"))">
            <label for="period">Period (seconds)</label><input type="number" id="period" name="period" min="15" max="300" placeholder="30" value="\(value("period"))">
            </details>
            <p><button class="primary" type="submit">Add token</button></p>
            </form></details>
            """
    }

    func tokenPage(
        slug: String, _ caller: Caller, _ session: DashboardSession, notice: TokenNotice?, error: String?, entered: FormBody? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        // After a refused save, the details come back as they were sent.
        func value(_ name: String, _ stored: String?) -> String { HTML.escape(entered?.first(name) ?? stored ?? "") }
        let token = try await self.tokens.get(slug: slug, by: caller)
        let slugText = HTML.escape(token.slug)
        let parameters = "\(token.parameters.algorithm.rawValue.uppercased()), \(token.parameters.digits) digits, every \(token.parameters.period) s"
        var body = """
            \(HTML.notice(notice?.message))\(HTML.error(error))
            <dl><dt>Slug</dt><dd><code>\(slugText)</code></dd><dt>Codes</dt><dd>\(HTML.escape(parameters))</dd></dl>
            """
        if caller.key.scopes.contains(.tokensWrite) {
            body += """
                <h2>Details</h2>
                <form method="post" action="/tokens/\(slugText)">
                \(HTML.csrf(session.csrfToken))
                <label for="token-name">Name</label><input type="text" id="token-name" name="name" value="\(value("name", token.name))" required>
                <label for="issuer">Issuer</label><input type="text" id="issuer" name="issuer" value="\(value("issuer", token.issuer))">
                <label for="account">Account</label><input type="text" id="account" name="account" value="\(value("account", token.account))">
                <p><button class="primary" type="submit">Save</button></p>
                </form>
                <h2>Replace the seed</h2>
                <p>When the service issued a new secret. The codes change at once; it needs a code from your authenticator app.</p>
                <form method="post" action="/tokens/\(slugText)/rotate">
                \(HTML.csrf(session.csrfToken))
                <label for="otpauth_uri">New otpauth:// URI</label><input type="text" id="otpauth_uri" name="otpauth_uri" autocomplete="off" spellcheck="false">
                \(Self.qrField)
                <label for="secret">or the new secret (base32)</label><input type="password" id="secret" name="secret" autocomplete="off" spellcheck="false">
                <label for="code">Code from your authenticator app</label>
                <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
                <p><button type="submit">Replace the seed</button></p>
                </form>
                <h2>Delete</h2>
                <p>Deleting <strong>\(HTML.escape(token.name))</strong> ends every code of it and every member's grant; keys bound to it
                can no longer read it. It cannot be undone.</p>
                <form method="post" action="/tokens/\(slugText)/delete">
                \(HTML.csrf(session.csrfToken))
                <label for="confirm">Type <code>\(slugText)</code> to confirm</label><input type="text" id="confirm" name="confirm" autocomplete="off" required>
                <p><button class="danger" type="submit">Delete token</button></p>
                </form>
                """
        }
        body += #"<p><a href="/tokens">Back to tokens</a></p>"#
        return HTML.response(HTML.page(token.name, signedIn: Self.navigation(caller, session), body), status: status)
    }

    /// What the tokens page lists: a search over slug, name, issuer and account (`q`), the page after a slug
    /// (`after`), and what a redirect after a change tells it (`added`, `deleted`).
    struct TokensQuery {
        var search: String?
        var after: String?
        var added: String?
        var deleted: String?

        init(search: String? = nil, after: String? = nil, added: String? = nil, deleted: String? = nil) {
            (self.search, self.after, self.added, self.deleted) = (search, after, added, deleted)
        }

        init(_ request: Request) {
            let parameters = request.uri.queryParameters
            func text(_ name: String) -> String? {
                guard let value = parameters[Substring(name)] else { return nil }
                let text = String(value).trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : String(text.prefix(100))
            }
            self.init(search: text("q"), after: text("after"), added: text("added"), deleted: text("deleted"))
        }
    }

    /// Tokens per page: each shown code is an audited read.

    /// The tokens with their current codes, 50 to a page, searchable. Viewing the page reads each code as the API
    /// does (one audited `token.code.read` per token shown); the page then counts each code down against the clock
    /// and fetches the next ones itself (`openPageCodes`), without reloading, and without auditing them again.
    func tokensPage(
        _ caller: Caller, _ session: DashboardSession, query: TokensQuery, entered: FormBody? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try caller.require(.tokensRead)
        let page: Page<Token>
        if let search = query.search {
            page = try await self.tokens.search(search, by: caller, after: query.after, limit: DashboardShared.pageSize)
        } else {
            page = try await self.tokens.list(by: caller, after: query.after, limit: DashboardShared.pageSize)
        }
        let tokens = page.items
        // Who may read the audit log sees each token's fetches and denials of the last 24 hours (one query).
        let charted = caller.key.scopes.contains(.auditRead)
        let chartedAt = clock.now()
        let activity = charted ? Dictionary(grouping: try await audit.activity(by: caller, now: chartedAt), by: { $0.tokenSlug ?? "" }) : [:]
        var rows = ""
        var expiries: [String: Int64] = [:]
        for token in tokens {
            var codeCell = #"<td class="muted">—</td><td></td>"#
            if caller.key.scopes.contains(.tokensCode) {
                let code = try await self.tokens.code(slug: token.slug, minValid: nil, by: caller)
                expiries[token.slug] = code.expiresAt
                codeCell = """
                    <td><span class="code" id="code-\(HTML.escape(token.slug))">\(HTML.escape(code.code))</span>
                    <button type="button" data-copy="code-\(HTML.escape(token.slug))">Copy</button></td>
                    <td data-expires-at="\(code.expiresAt)" data-period="\(code.period)"><svg class="ring" viewBox="0 0 32 32" aria-hidden="true">
                    <circle class="track" cx="16" cy="16" r="14"/><circle class="left" cx="16" cy="16" r="14"/></svg>
                    <span class="seconds">\(code.expiresIn) s</span></td>
                    """
            }
            var links = [#"<a href="/tokens/\#(HTML.escape(token.slug))">details</a>"#]
            if caller.key.scopes.contains(.tokensSeed) { links.append(#"<a href="/tokens/\#(HTML.escape(token.slug))/seed">seed</a>"#) }
            rows += """
                <tr data-slug="\(HTML.escape(token.slug))"><td><strong>\(HTML.escape(token.name))</strong><br><span class="muted">\(HTML.escape(token.slug)) · \(links.joined(separator: " · "))</span></td>
                <td class="optional">\(HTML.escape([token.issuer, token.account].compactMap { $0 }.joined(separator: " · ")))</td>\(codeCell)\(charted
                    ? #"<td class="optional">\#(HTML.activityChart(activity[token.slug] ?? [], now: chartedAt, what: token.slug))</td>"# : "")</tr>
                """
        }
        var body = HTML.error(error)
        // Notices from the redirect's link say only what the server can check: a slug (letters, digits, dashes) that
        // exists, or that no longer does.
        if let added = query.added, Token.isValidSlug(added), (try? await self.tokens.get(slug: added, by: caller)) != nil {
            body += HTML.notice("Token \(added) added.")
        }
        if let deleted = query.deleted, Token.isValidSlug(deleted), (try? await self.tokens.get(slug: deleted, by: caller)) == nil {
            body += HTML.notice("Token \(deleted) deleted.")
        }
        body += """
            <form method="get" action="/tokens" class="search" role="search"><label for="q" class="visually-hidden">Search tokens</label>
            <input type="search" id="q" name="q" value="\(HTML.escape(query.search ?? ""))" placeholder="Search by slug, name, issuer or account">
            <button type="submit">Search</button>\(query.search == nil ? "" : #" <a href="/tokens">Show all</a>"#)</form>
            """
        if tokens.isEmpty {
            body += query.search != nil ? #"<p class="muted">No token matches.</p>"#
                : caller.user?.role == .member ? #"<p class="muted">No tokens have been shared with you yet: an admin of your organisation grants them on the Users page.</p>"#
                : #"<p class="muted">No tokens yet: add one below (from the <code>otpauth://</code> link of an authenticator app's export, or its secret).</p>"#
        } else {
            // Stamped after the codes were read, so that the page's clock lags the server's by the transfer only.
            let now = clock.now()
            let ticket = pageViews.issue(sessionID: session.id, slugs: Array(expiries.keys), at: now)
            body += #"<p class="error" id="codes-ended" role="alert" hidden>Your session has ended: these codes are no longer updated. <a href="/login">Sign in again</a>.</p>"#
                + #"<table data-now="\#(now.unixMilliseconds)" data-view="\#(HTML.escape(ticket))"><thead><tr><th>Token</th><th class="optional">Account</th><th>Code</th><th>Expires</th>\#(charted ? #"<th class="optional">Last 24 h</th>"# : "")</tr></thead><tbody>\#(rows)</tbody></table>"#
        }
        body += HTML.nextPage("/tokens", cursor: page.nextCursor, keeping: query.search.map { [("q", $0)] } ?? [])
        if caller.key.scopes.contains(.tokensWrite) { body += Self.addTokenForm(csrf: session.csrfToken, entered: entered) }
        return HTML.response(HTML.page("Tokens", signedIn: Self.navigation(caller, session), body), status: status)
    }

    /// The open tokens page's refresh (`GET /tokens/codes?view=...&slug=...`, JSON): the current codes of the tokens
    /// the page shows, for as long as the session lasts, which this call does not extend. Not audited again: the
    /// page view that showed the tokens was, and its ticket (`PageViewTicket`, bound to the session and to exactly
    /// those slugs) is required (403 without it). A token the user may no longer read is left out.
    func openPageCodes(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        struct Code: Encodable {
            let slug: String
            let code: String
            let expires_at: Int64
            let period: Int
        }
        struct Codes: Encodable {
            let now: Int64
            let codes: [Code]
        }
        guard let (caller, session) = try await pageSession(request, context) else { return try Self.json(DashboardSignedOut(), status: .unauthorized) }
        try caller.require(.tokensCode)
        let slugs = request.uri.queryParameters.getAll("slug").map { String($0) }
        guard slugs.count <= 100 else { throw KaitoError.validation("slug", "at most 100 tokens at once") }
        guard slugs.allSatisfy(Token.isValidSlug) else { throw KaitoError.validation("slug", "not a token's slug") }
        guard let view = request.uri.queryParameters["view"].map(String.init),
              pageViews.admits(view, sessionID: session.id, slugs: slugs, at: clock.now()) else {
            throw KaitoError(.insufficientScope, "These codes are refreshed only for the tokens page that showed them: reload the page.")
        }
        var codes: [Code] = []
        for slug in Set(slugs).sorted() {
            do {
                let code = try await tokens.codeForOpenPage(slug: slug, by: caller)
                codes.append(Code(slug: slug, code: code.code, expires_at: code.expiresAt, period: code.period))
            } catch let error as KaitoError where [.notFound, .tokenNotAllowed].contains(error.code) {
                continue
            }
        }
        return try Self.json(Codes(now: clock.now().unixMilliseconds, codes: codes))
    }
}
