import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// The web dashboard, served by the same server: sign-in with email, password and the TOTP second factor, the
/// tokens a user may use with their current codes, and keys. Pages call the same services as the API, as a
/// `Caller` whose scopes are the user's role's (`SignInService.caller`). This is the dashboard's composition: it
/// registers each page group (`SignInPages`, `TokensPages`, `KeysPages`, ...) with the services that group calls.
struct DashboardController {
    /// What every page group shares (sessions, redirects' notices, cookies), and the services the pages call (the
    /// same as the API's).
    let shared: DashboardShared
    let tokens: TokenService
    let keys: KeyService
    let organizations: OrganizationService
    let users: UserService
    let billing: BillingService
    let audit: AuditService
    let webhooks: WebhookService
    let sms: SMSService
    /// Signs what a tokens page showed, for its refreshes (`openPageCodes`).
    let pageViews: PageViewTicket

    func register(on parent: Router<KaitoRequestContext>) {
        let router = parent.group().add(middleware: PageErrorMiddleware())
        router.get("/") { request, _ in
            HTML.redirect(request.cookies[DashboardShared.sessionCookie] == nil ? "/login" : "/tokens")
        }
        router.get("/dashboard/app.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: HTML.stylesheet)))
        }
        router.get("/dashboard/app.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: HTML.script + "\n" + HTML.qrReader)))
        }
        SignInPages(shared: shared).register(on: router)
        TokensPages(shared: shared, tokens: tokens, audit: audit, pageViews: pageViews).register(on: router)
        SeedPages(shared: shared, tokens: tokens).register(on: router)
        KeysPages(shared: shared, keys: keys, tokens: tokens, users: users, audit: audit).register(on: router)
        UsersPages(shared: shared, users: users, tokens: tokens).register(on: router)
        AdministrationPages(shared: shared, audit: audit, organizations: organizations, billing: billing).register(on: router)
        InboxesPages(shared: shared, sms: sms).register(on: router)
        MessagesPages(shared: shared, sms: sms).register(on: router)
        WebhooksPages(shared: shared, webhooks: webhooks, audit: audit).register(on: router)
    }
}

extension KaitoError {
    /// The form field that gives the API's field `field` its value: `allowed_cidrs[2]` comes from `allowed_cidrs`,
    /// `scopes` from the `scope` boxes, `rate_limits.code` from `rate_limit_code`.
    static func formField(_ field: String) -> String {
        let name = field.firstIndex(of: "[").map { String(field[..<$0]) } ?? field
        let names = ["scopes": "scope", "token_slugs": "more_tokens", "rate_limits.code": "rate_limit_code", "rate_limits.read": "rate_limit_read",
                     "rate_limits.write": "rate_limit_write", "topics": "topic"]
        return names[name] ?? name
    }

    /// A refusal as one line for a page: the field errors, or the detail.
    var pageMessage: String {
        fieldErrors.isEmpty ? detail : fieldErrors.map { "\(Self.label($0.field)): \($0.message)" }.joined(separator: "; ")
    }

    /// A field of the API's validation errors as its form calls it: `allowed_cidrs[2]` is "Allowed networks, line 3".
    static func label(_ field: String) -> String {
        var name = Substring(field)
        var line = ""
        if let open = field.firstIndex(of: "["), field.hasSuffix("]"), let index = Int(field[field.index(after: open)..<field.index(before: field.endIndex)]) {
            name = field[..<open]
            line = ", line \(index + 1)"
        }
        let labels: [Substring: String] = [
            "allowed_cidrs": "Allowed networks", "expires_at": "Expires at", "scopes": "Scopes", "token_slugs": "Tokens",
            "otpauth_uri": "otpauth:// URI", "phone_number": "Phone number", "url": "URL", "audit_actions": "Audit actions",
            "confirm": "Confirmation", "rate_limits.code": "Code requests", "rate_limits.read": "Other reads", "rate_limits.write": "Writes",
        ]
        let words = labels[name] ?? name.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst() + line
    }
}

/// Errors thrown by a dashboard page as an HTML page, not the API's JSON problem: a form over 16 KiB (413), a
/// malformed form (422), anything else with the status the API would give it (unexpected errors logged as there).
struct PageErrorMiddleware: RouterMiddleware {
    typealias Context = KaitoRequestContext

    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            // No page's address holds a control character (a NUL, a line break): refused before any of it reaches a
            // query, whichever parameter or path segment carries it.
            if Self.hasControlCharacters(request.uri.path.removingPercentEncoding ?? request.uri.path)
                || request.uri.queryParameters.contains(where: { Self.hasControlCharacters(String($0.key)) || Self.hasControlCharacters(String($0.value)) }) {
                throw KaitoError(.malformedRequest, "The address holds characters that no page uses.")
            }
            return try await next(request, context)
        } catch {
            var failure = ProblemMiddleware.kaitoError(for: error, logger: context.logger)
            if failure.code == .payloadTooLarge {
                failure = KaitoError(.payloadTooLarge, "The form is larger than \(DashboardShared.formLimit / 1024) KiB.")
            }
            let body = HTML.error(failure.detail) + #"<p><a href="/">Back to the dashboard</a></p>"#
            return HTML.response(HTML.page(ProblemTable.title(for: failure.code), body), status: ProblemTable.status(for: failure.code))
        }
    }
}
