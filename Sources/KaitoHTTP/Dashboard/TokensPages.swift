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

    /// The "Add a token" form of the tokens page (the `add_token` fragment), with what was entered (never the secret
    /// or URI) after a refusal. Its picture of a QR code (`qr_field`) is read in the browser (`HTML.qrReader`), never
    /// uploaded (the field has no name, so the form does not send it): it fills the URI field.
    struct AddTokenForm {
        let open: Bool, csrf: String, slug, name, issuer, account, digits, period: String, sha256, sha512: Bool

        init(csrf: String, entered: FormBody?) {
            func value(_ name: String) -> String { entered?.first(name) ?? "" }
            (open, self.csrf) = (entered != nil, csrf)
            (slug, name, issuer, account, digits, period) = (value("slug"), value("name"), value("issuer"), value("account"), value("digits"), value("period"))
            (sha256, sha512) = (entered?.first("algorithm") == "SHA256", entered?.first("algorithm") == "SHA512")
        }
    }

    func tokenPage(
        slug: String, _ caller: Caller, _ session: DashboardSession, notice: TokenNotice?, error: String?, entered: FormBody? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        struct Entered { let name, issuer, account: String }
        struct Page {
            let notice: String?, error: String?, slug: String, name: String, parameters: String, writable: Bool, csrf: String, entered: Entered
        }
        let token = try await self.tokens.get(slug: slug, by: caller)
        // After a refused save, the details come back as they were sent.
        func value(_ name: String, _ stored: String?) -> String { entered?.first(name) ?? stored ?? "" }
        let body = Templates.render("token", Page(
            notice: notice?.message, error: error, slug: token.slug, name: token.name,
            parameters: "\(token.parameters.algorithm.rawValue.uppercased()), \(token.parameters.digits) digits, every \(token.parameters.period) s",
            writable: caller.key.scopes.contains(.tokensWrite), csrf: session.csrfToken,
            entered: Entered(name: value("name", token.name), issuer: value("issuer", token.issuer), account: value("account", token.account))))
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
        struct Code { let code: String, expiresAt: Int64, period: Int, expiresIn: Int }
        struct Row { let slug: String, name: String, seed: Bool, account: String, code: Code?, chart: String? }
        struct Table { let now: Int64, ticket: String, charted: Bool, rows: [Row] }
        struct Notice { let notice: String }
        struct View {
            let error: String?, notices: [Notice], search: String?, empty: Bool, searched: Bool, member: Bool, table: Table?, nextPage: String
            let addForm: AddTokenForm?
        }
        var rows: [Row] = []
        var expiries: [String: Int64] = [:]
        for token in tokens {
            var code: Code?
            if caller.key.scopes.contains(.tokensCode) {
                let read = try await self.tokens.code(slug: token.slug, minValid: nil, by: caller)
                expiries[token.slug] = read.expiresAt
                code = Code(code: read.code, expiresAt: read.expiresAt, period: read.period, expiresIn: read.expiresIn)
            }
            rows.append(Row(
                slug: token.slug, name: token.name, seed: caller.key.scopes.contains(.tokensSeed),
                account: [token.issuer, token.account].compactMap { $0 }.joined(separator: " · "), code: code,
                // The chart is SVG this server draws (`HTML.activityChart`): markup, not a value to escape.
                chart: charted ? HTML.activityChart(activity[token.slug] ?? [], now: chartedAt, what: token.slug) : nil))
        }
        // Notices from the redirect's link say only what the server can check: a slug (letters, digits, dashes) that
        // exists, or that no longer does.
        var notices: [Notice] = []
        if let added = query.added, Token.isValidSlug(added), (try? await self.tokens.get(slug: added, by: caller)) != nil {
            notices.append(Notice(notice: "Token \(added) added."))
        }
        if let deleted = query.deleted, Token.isValidSlug(deleted), (try? await self.tokens.get(slug: deleted, by: caller)) == nil {
            notices.append(Notice(notice: "Token \(deleted) deleted."))
        }
        var table: Table?
        if !tokens.isEmpty {
            // Stamped after the codes were read, so that the page's clock lags the server's by the transfer only.
            let now = clock.now()
            let ticket = pageViews.issue(sessionID: session.id, slugs: Array(expiries.keys), at: now)
            table = Table(now: now.unixMilliseconds, ticket: ticket, charted: charted, rows: rows)
        }
        let body = Templates.render("tokens", View(
            error: error, notices: notices, search: query.search, empty: tokens.isEmpty, searched: query.search != nil,
            member: caller.user?.role == .member, table: table,
            nextPage: HTML.nextPage("/tokens", cursor: page.nextCursor, keeping: query.search.map { [("q", $0)] } ?? []),
            addForm: caller.key.scopes.contains(.tokensWrite) ? AddTokenForm(csrf: session.csrfToken, entered: entered) : nil))
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
        guard let (caller, session) = try await pageSession(request, context) else { return try Self.json(context, DashboardSignedOut(), status: .unauthorized) }
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
        return try Self.json(context, Codes(now: clock.now().unixMilliseconds, codes: codes))
    }
}
