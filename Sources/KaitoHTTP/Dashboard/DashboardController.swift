import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// The web dashboard, served by the same server: sign-in with email, password and the TOTP second factor, the
/// tokens a user may use with their current codes, and keys. Pages call the same services as the API, as a
/// `Caller` whose scopes are the user's role's (`SignInService.caller`).
struct DashboardController {
    /// The services the pages call (the same as the API's), and what sign-in throttling and tokens need.
    let signIn: SignInService
    let tokens: TokenService
    let keys: KeyService
    let organizations: OrganizationService
    let audit: AuditService
    let webhooks: WebhookService
    let sms: SMSService
    let rateLimits: any RateLimitStore
    let clock: any KaitoClock
    let random: any RandomSource
    let clientAddress: ClientAddress
    /// Signs what a tokens page showed, for its refreshes (`openPageCodes`).
    let pageViews: PageViewTicket
    /// Seals what a form shows once after its redirect (a new key).
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

    func register(on parent: Router<KaitoRequestContext>) {
        let router = parent.group().add(middleware: PageErrorMiddleware())
        router.get("/") { request, _ in
            HTML.redirect(request.cookies[Self.sessionCookie] == nil ? "/login" : "/tokens")
        }
        router.get("/dashboard/app.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: HTML.stylesheet)))
        }
        router.get("/dashboard/app.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: HTML.script + "\n" + HTML.qrReader)))
        }
        router.get("/login") { _, _ in loginPage(error: nil, organization: "default", email: "") }
        router.post("/login") { request, context in try await login(request, context) }
        router.get("/login/second-factor") { request, _ in try await secondFactorPage(request, error: nil) }
        router.post("/login/second-factor") { request, context in try await secondFactor(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }
        router.get("/tokens") { request, context in
            try await signedIn(request, context, scope: .tokensRead) { caller, session in try await tokensPage(caller, session, query: TokensQuery(request)) }
        }
        router.get("/tokens/codes") { request, context in try await openPageCodes(request, context) }
        registerTokens(on: router)
        registerKeys(on: router)
        registerAdministration(on: router)
        registerMessages(on: router)
        registerSeed(on: router)
        registerUsers(on: router)
        registerInboxes(on: router)
        registerWebhooks(on: router)
    }

    // MARK: Sign-in

    func loginPage(error: String?, organization: String, email: String, status: HTTPResponse.Status = .ok) -> Response {
        let csrf = SignInService.randomToken(random)
        let body = """
            \(HTML.error(error))
            <form method="post" action="/login">
            \(HTML.csrf(csrf))
            <label for="organization">Organisation</label><input type="text" id="organization" name="organization" value="\(HTML.escape(organization))" required autocomplete="organization">
            <label for="email">Email</label><input type="email" id="email" name="email" value="\(HTML.escape(email))" required autocomplete="username">
            <label for="password">Password</label><input type="password" id="password" name="password" required autocomplete="current-password">
            <p><button class="primary" type="submit">Continue</button></p>
            </form>
            """
        return HTML.response(HTML.page("Sign in", body), status: status, cookies: [setCookie(Self.loginCSRFCookie, csrf, path: "/login")])
    }

    func login(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        let organization = form.first("organization") ?? ""
        let email = form.first("email") ?? ""
        guard let sent = request.cookies[Self.loginCSRFCookie]?.value, let field = form.first("csrf"), SignInService.equal(sent, field) else {
            return loginPage(error: "The form expired. Please try again.", organization: organization, email: email, status: .forbidden)
        }
        if let wait = try await signInThrottle(request, context) {
            return loginPage(error: "Too many sign-in attempts from this address; try again in \(wait) s.", organization: organization, email: email,
                             status: .tooManyRequests)
        }
        do {
            let step = try await signIn.signIn(
                organization: organization, email: email, password: form.first("password") ?? "",
                address: address(request, context)?.description, origin: origin(request, context))
            return HTML.redirect("/login/second-factor", cookies: [setCookie(Self.sessionCookie, step.token), setCookie(Self.loginCSRFCookie, "", path: "/login", maxAge: 0)])
        } catch let error as KaitoError where error.code == .signInFailed {
            return loginPage(error: error.detail, organization: organization, email: email, status: .unauthorized)
        } catch let error as KaitoError where error.code == .unavailable {
            // Too many sign-ins waiting for a password check (PooledPasswordHasher): the form again, with a 503.
            return loginPage(error: error.detail, organization: organization, email: email, status: .serviceUnavailable)
        }
    }

    func secondFactorPage(_ request: Request, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let token = request.cookies[Self.sessionCookie]?.value, let pending = try await signIn.pendingSession(token: token) else {
            return HTML.redirect("/login")
        }
        var enrolment = ""
        if let (secret, uri) = try await signIn.enrolment(for: pending) {
            enrolment = """
                <p>Every account signs in with a second factor. Add this account to your authenticator app, then enter the code it shows.</p>
                \(QRCode(uri).map { "<p>Scan this code with the app:</p><p>" + $0.svg(label: "QR code of the account for an authenticator app") + "</p>" } ?? "")
                <p><a href="\(HTML.escape(uri))" id="otpauth-link">Open in an authenticator app</a> or enter the secret:</p>
                <p>\(HTML.copyable(secret, id: "totp-secret"))</p>
                """
        }
        let body = """
            \(HTML.error(error))\(enrolment)
            <form method="post" action="/login/second-factor">
            \(HTML.csrf(pending.csrfToken))
            <label for="code">Code from your authenticator app</label>
            <input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" required autofocus>
            <p><button class="primary" type="submit">Sign in</button></p>
            </form>
            """
        return HTML.response(HTML.page(enrolment.isEmpty ? "Second factor" : "Set up your second factor", body), status: status)
    }

    func secondFactor(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let token = request.cookies[Self.sessionCookie]?.value, let pending = try await signIn.pendingSession(token: token) else {
            return HTML.redirect("/login")
        }
        guard let field = form.first("csrf"), SignInService.equal(field, pending.csrfToken) else {
            return try await secondFactorPage(request, error: "The form expired. Please try again.", status: .forbidden)
        }
        do {
            let step = try await signIn.verifySecondFactor(
                token: token, code: form.first("code") ?? "", address: address(request, context)?.description, origin: origin(request, context))
            return HTML.redirect("/tokens", cookies: [setCookie(Self.sessionCookie, step.token)])
        } catch let error as KaitoError where error.code == .signInFailed {
            return try await secondFactorPage(request, error: error.detail, status: .unauthorized)
        }
    }

    func logout(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        let signedOut = HTML.redirect("/login", cookies: [setCookie(Self.sessionCookie, "", maxAge: 0)])
        guard let token = request.cookies[Self.sessionCookie]?.value else { return signedOut }
        let session: DashboardSession
        do {
            (_, session) = try await signIn.caller(token: token, address: address(request, context), origin: origin(request, context))
        } catch let error as KaitoError where error.code == .missingKey {
            return signedOut  // the session had already ended
        }
        guard let field = form.first("csrf"), SignInService.equal(field, session.csrfToken) else {
            return HTML.response(HTML.page("Sign out", HTML.error("The form expired. Reload the page and try again.")), status: .forbidden)
        }
        try await signIn.signOut(token: token, address: address(request, context)?.description, origin: origin(request, context))
        return signedOut
    }

    /// Nil when this address may try a password now; otherwise the seconds to wait. Counted per client address on
    /// every server together (the API's rate-limit store): known accounts also lock after five failures; this bounds
    /// guessing across many accounts, and unknown ones.
    func signInThrottle(_ request: Request, _ context: KaitoRequestContext) async throws -> Int? {
        let bucket = "signin:" + (address(request, context)?.description ?? "unknown")
        let decision = try await rateLimits.acquire(
            keyID: bucket, group: .write, rule: GCRA(limit: SignInService.attemptsPerAddressPerMinute), now: clock.now().unixMicroseconds)
        return decision.allowed ? nil : RateLimitDecision.seconds(decision.retryAfter)
    }

    // MARK: Signed-in pages

    /// Runs `body` for a signed-in session whose role carries `scope` (403 page otherwise; nil: every signed-in user), or sends the browser to
    /// the sign-in page. Every page names its scope here, as every API route does in the route table: the services
    /// below do not check scopes themselves.
    func signedIn(
        _ request: Request, _ context: KaitoRequestContext, scope: Scope?, _ body: (Caller, DashboardSession) async throws -> Response
    ) async throws -> Response {
        guard let token = request.cookies[Self.sessionCookie]?.value else { return HTML.redirect("/login") }
        let caller: Caller
        let session: DashboardSession
        do {
            (caller, session) = try await signIn.caller(token: token, address: address(request, context), origin: origin(request, context))
        } catch let error as KaitoError where error.code == .missingKey {
            return HTML.redirect("/login", cookies: [setCookie(Self.sessionCookie, "", maxAge: 0)])
        }
        // The notice a redirect after a change carried, for the page it led to: that page's layout shows it once and
        // the cookie goes (also when the page itself fails, or when the notice no longer opens); another page, such
        // as one another tab loads meanwhile, leaves it be.
        var notice: String?
        var clearNotice = false
        if request.method == .get, let sealed = request.cookies[Self.noticeCookie]?.value {
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
            response.setCookie(setCookie(Self.noticeCookie, "", maxAge: 0))
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
        guard let token = request.cookies[Self.sessionCookie]?.value else { return nil }
        do {
            return try await signIn.caller(token: token, address: address(request, context), origin: origin(request, context), extendsSession: false)
        } catch let error as KaitoError where error.code == .missingKey {
            return nil
        }
    }

    /// What `pageSession`'s callers answer without a session (401).
    struct SignedOut: Encodable { let signed_in = false }

    /// A JSON answer of a page's own fetch: never cached, never sniffed.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
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
            cookies.append(setCookie(Self.noticeCookie, try pageFlash.seal(path + "\n" + notice, as: .notice, sessionID: session.id, at: clock.now()),
                                     maxAge: Int(PageFlash.lifetime)))
        }
        if let secret {
            cookies.append(setCookie(Self.flashCookie, try pageFlash.seal(secret, sessionID: session.id, at: clock.now()), path: path,
                                     maxAge: Int(PageFlash.lifetime)))
        }
        return HTML.redirect(location, cookies: cookies)
    }

    /// The secret a redirect carried to this page (nil when it was shown already, expired, or is another session's),
    /// and clears its cookie on `response` (the page built with it).
    func takeFlash(_ request: Request, session: DashboardSession, path: String, _ page: (String?) async throws -> Response) async throws -> Response {
        guard let sealed = request.cookies[Self.flashCookie]?.value else { return try await page(nil) }
        var response = try await page(pageFlash.open(sealed, sessionID: session.id, at: clock.now()))
        response.setCookie(setCookie(Self.flashCookie, "", path: path, maxAge: 0))
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
        try await FormBody.read(request, limit: formLimit)
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
}

extension DashboardController {
    /// The page after a refused form, with each field the refusal names marked beside it (`HTML.markingFields`).
    func refused(_ error: KaitoError, _ page: () async throws -> Response) async throws -> Response {
        let fields = error.fieldErrors.map { (name: KaitoError.formField($0.field), message: KaitoError.label($0.field) + ": " + $0.message) }
        return try await HTML.$fieldErrors.withValue(fields) { try await page() }
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
                failure = KaitoError(.payloadTooLarge, "The form is larger than \(DashboardController.formLimit / 1024) KiB.")
            }
            let body = HTML.error(failure.detail) + #"<p><a href="/">Back to the dashboard</a></p>"#
            return HTML.response(HTML.page(ProblemTable.title(for: failure.code), body), status: ProblemTable.status(for: failure.code))
        }
    }
}
