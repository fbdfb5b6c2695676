import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// What every dashboard page group shares: the signed-in session behind a request, the notice and the secret a
/// redirect carries, cookies and the client's address. A page group (`TokensPages`, `KeysPages`, ...) is a
/// `DashboardPage`: it holds `shared` and the services its own pages call, nothing more.
struct DashboardShared: Sendable {
    let signIn: SignInService
    let rateLimits: any RateLimitStore
    let clock: any KaitoClock
    let random: any RandomSource
    let clientAddress: ClientAddress
    /// Seals what a form shows once after its redirect (a new key), and the notice of what a change did.
    let pageFlash: PageFlash
    /// `Secure` on cookies: on unless the public URL is plain http (a server on loopback during development).
    let secureCookies: Bool

    static let sessionCookie = "kaito_session"
    /// What a form shows once after its redirect (`PageFlash`), for two minutes at most.
    static let flashCookie = "kaito_flash"
    /// What a change did, said on the page its redirect leads to (`PageFlash` sealed as a notice).
    static let noticeCookie = "kaito_notice"
    /// The sign-in form's CSRF token (double submit: the cookie and the form field must match).
    static let loginCSRFCookie = "kaito_login_csrf"
    static let formLimit = 16 * 1024
    /// Rows of a list page (tokens, keys, users, inboxes, endpoints, messages); a "Next page" link leads on.
    static let pageSize = 50
}

/// A group of dashboard pages: it registers its routes and builds its pages with the helpers below.
protocol DashboardPage: Sendable {
    var shared: DashboardShared { get }
}

/// What `pageSession`'s callers answer without a session (401).
struct DashboardSignedOut: Encodable { let signed_in = false }

extension DashboardPage {
    var signIn: SignInService { shared.signIn }
    var rateLimits: any RateLimitStore { shared.rateLimits }
    var clock: any KaitoClock { shared.clock }
    var random: any RandomSource { shared.random }
    var clientAddress: ClientAddress { shared.clientAddress }
    var pageFlash: PageFlash { shared.pageFlash }
    var secureCookies: Bool { shared.secureCookies }

    // MARK: Signed-in pages

    /// Runs `body` for a signed-in session whose role carries `scope` (403 page otherwise; nil: every signed-in user), or sends the browser to
    /// the sign-in page. Every page names its scope here, as every API route does in the route table: the services
    /// below do not check scopes themselves.
    func signedIn(
        _ request: Request, _ context: KaitoRequestContext, scope: Scope?, _ body: (Caller, DashboardSession) async throws -> Response
    ) async throws -> Response {
        guard let token = request.cookies[DashboardShared.sessionCookie]?.value else { return HTML.redirect("/login") }
        let caller: Caller
        let session: DashboardSession
        do {
            (caller, session) = try await signIn.caller(token: token, address: address(request, context), origin: origin(request, context))
        } catch let error as KaitoError where error.code == .missingKey {
            return HTML.redirect("/login", cookies: [setCookie(DashboardShared.sessionCookie, "", maxAge: 0)])
        }
        // The notice a redirect after a change carried, for the page it led to: that page's layout shows it once and
        // the cookie goes (also when the page itself fails, or when the notice no longer opens); another page, such
        // as one another tab loads meanwhile, leaves it be.
        var notice: String?
        var clearNotice = false
        if request.method == .get, let sealed = request.cookies[DashboardShared.noticeCookie]?.value {
            let opened = pageFlash.open(sealed, as: .notice, sessionID: session.id, at: clock.now())
            if let opened, let newline = opened.firstIndex(of: "\n") {
                if opened[..<newline] == request.uri.path {
                    notice = String(opened[opened.index(after: newline)...])
                    clearNotice = true
                }
            } else {
                clearNotice = true
            }
        }
        func cleared(_ response: Response) -> Response {
            guard clearNotice else { return response }
            var response = response
            response.setCookie(setCookie(DashboardShared.noticeCookie, "", maxAge: 0))
            return response
        }
        do {
            if let scope { try caller.require(scope) }
            return cleared(try await HTML.$carriedNotice.withValue(notice) { try await body(caller, session) })
        } catch let error as KaitoError {
            let status = ProblemTable.status(for: error.code)
            var message = error.detail
            if error.code == .insufficientScope, let role = caller.user?.role, role == .member {
                // In a person's words, not a key's: what their role may do, and who can do the rest.
                message = "This is for the organisation's owners and admins; your role is \(role.rawValue). Ask one of them if you need it."
            }
            return cleared(HTML.response(HTML.page(ProblemTable.title(for: error.code), signedIn: Self.navigation(caller, session), HTML.error(message)), status: status))
        }
    }

    /// `signedIn` for a form post: the body is read (at most 16 KiB) and its CSRF token checked first.
    func signedInForm(
        _ request: Request, _ context: KaitoRequestContext, scope: Scope?, _ body: @escaping (Caller, DashboardSession, FormBody) async throws -> Response
    ) async throws -> Response {
        let form = try await Self.form(request)
        return try await signedIn(request, context, scope: scope) { caller, session in
            guard let field = form.first("csrf"), SignInService.equal(field, session.csrfToken) else {
                return HTML.response(HTML.page("Form expired", signedIn: Self.navigation(caller, session),
                                               HTML.error("The form expired. Reload the page and try again.")), status: .forbidden)
            }
            return try await HTML.$postedAction.withValue(request.uri.path) { try await body(caller, session, form) }
        }
    }

    static func navigation(_ caller: Caller, _ session: DashboardSession) -> (email: String, csrf: String, isAdmin: Bool) {
        (caller.user?.email ?? "", session.csrfToken, caller.key.scopes.contains(.orgAdmin) && caller.key.scopes.contains(.auditRead))
    }

    /// Runs a change posted from a page, then redirects (303) to `location`, whose page says what the change did; a
    /// refusal shows `page` again with its message and status, nothing changed. (A page that cannot be shown, such as
    /// another organisation's resource, throws: a 404 page.)
    func afterChange(
        redirectTo location: String, session: DashboardSession, _ change: () async throws -> String,
        refused page: (_ error: String, _ status: HTTPResponse.Status) async throws -> Response
    ) async throws -> Response {
        let done: String
        do {
            done = try await change()
        } catch let error as KaitoError {
            return try await refused(error) { try await page(error.pageMessage, ProblemTable.status(for: error.code)) }
        }
        return try redirect(location, notice: done, session: session)
    }

    // MARK: Helpers

    /// The session behind the cookie of what an open page fetches on its own (the next codes, the next message): it
    /// does not extend the session. Nil when there is none (the page then says the session has ended).
    func pageSession(_ request: Request, _ context: KaitoRequestContext) async throws -> (Caller, DashboardSession)? {
        guard let token = request.cookies[DashboardShared.sessionCookie]?.value else { return nil }
        do {
            return try await signIn.caller(token: token, address: address(request, context), origin: origin(request, context), extendsSession: false)
        } catch let error as KaitoError where error.code == .missingKey {
            return nil
        }
    }

    /// A JSON answer of a page's own fetch, through the context's encoder: never cached, never sniffed.
    static func json(_ context: KaitoRequestContext, _ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = try context.responseEncoder.encode(value, status: status)
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return response
    }

    /// The redirect (303) after a change: `notice` says on the page it leads to what the change did, and a secret the
    /// change made is carried once, in a cookie scoped to `path` that `takeFlash` reads and clears. Both are sealed for
    /// this session (`PageFlash`), so a link cannot put words on a page, and a reload repeats neither the change nor the
    /// secret.
    func redirect(
        _ location: String, notice: String? = nil, showingOnce secret: String? = nil, path: String = "/", session: DashboardSession
    ) throws -> Response {
        var cookies: [Cookie] = []
        if let notice {
            // Sealed with the path it is for (`signedIn` shows it there only).
            let path = location.split(separator: "?", maxSplits: 1).first.map(String.init) ?? location
            cookies.append(setCookie(DashboardShared.noticeCookie, try pageFlash.seal(path + "\n" + notice, as: .notice, sessionID: session.id, at: clock.now()),
                                     maxAge: Int(PageFlash.lifetime)))
        }
        if let secret {
            cookies.append(setCookie(DashboardShared.flashCookie, try pageFlash.seal(secret, sessionID: session.id, at: clock.now()), path: path,
                                     maxAge: Int(PageFlash.lifetime)))
        }
        return HTML.redirect(location, cookies: cookies)
    }

    /// The secret a redirect carried to this page (nil when it was shown already, expired, or is another session's),
    /// and clears its cookie on `response` (the page built with it).
    func takeFlash(_ request: Request, session: DashboardSession, path: String, _ page: (String?) async throws -> Response) async throws -> Response {
        guard let sealed = request.cookies[DashboardShared.flashCookie]?.value else { return try await page(nil) }
        var response = try await page(pageFlash.open(sealed, sessionID: session.id, at: clock.now()))
        response.setCookie(setCookie(DashboardShared.flashCookie, "", path: path, maxAge: 0))
        return response
    }

    /// Whether a destructive form carries `expected` typed in its `confirm` field (`HTML.confirmedAction`).
    /// - Throws: `validation_failed` naming what to type, so that nothing changes.
    static func confirmed(_ form: FormBody, _ expected: String) throws {
        guard form.first("confirm")?.trimmingCharacters(in: .whitespaces) == expected else {
            throw KaitoError.validation("confirm", "type \(expected) to confirm")
        }
    }

    static func form(_ request: Request) async throws -> FormBody {
        try await FormBody.read(request, limit: DashboardShared.formLimit)
    }

    /// A cookie for the dashboard: HttpOnly, SameSite=Strict, Secure behind https.
    func setCookie(_ name: String, _ value: String, path: String = "/", maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: secureCookies, httpOnly: true, sameSite: .strict)
    }

    func address(_ request: Request, _ context: KaitoRequestContext) -> IPAddress? {
        clientAddress.resolve(peer: context.remoteAddress, forwardedFor: request.headers[values: .xForwardedFor])
    }

    func origin(_ request: Request, _ context: KaitoRequestContext) -> RequestOrigin {
        RequestOrigin(requestID: context.requestID, userAgent: request.headers[.userAgent])
    }

    /// The page after a refused form, with each field the refusal names marked beside it (`HTML.markingFields`).
    func refused(_ error: KaitoError, _ page: () async throws -> Response) async throws -> Response {
        let fields = error.fieldErrors.map { (name: KaitoError.formField($0.field), message: KaitoError.label($0.field) + ": " + $0.message) }
        return try await HTML.$fieldErrors.withValue(fields) { try await page() }
    }
}
