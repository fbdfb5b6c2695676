import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// Signing in and out: email and password, then the TOTP second factor (enrolled from the secret shown once on the
/// first sign-in); attempts are throttled per client address on every server together.
struct SignInPages: DashboardPage {
    let shared: DashboardShared

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/login") { _, _ in loginPage(error: nil, organization: "default", email: "") }
        router.post("/login") { request, context in try await login(request, context) }
        router.get("/login/second-factor") { request, _ in try await secondFactorPage(request, error: nil) }
        router.post("/login/second-factor") { request, context in try await secondFactor(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }
    }

    func loginPage(error: String?, organization: String, email: String, status: HTTPResponse.Status = .ok) -> Response {
        let csrf = SignInService.randomToken(random)
        struct Page { let error: String?, csrf: String, organization: String, email: String }
        let body = Templates.render("login", Page(error: error, csrf: csrf, organization: organization, email: email))
        return HTML.response(HTML.page("Sign in", body), status: status, cookies: [setCookie(DashboardShared.loginCSRFCookie, csrf, path: "/login")])
    }

    func login(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        let organization = form.first("organization") ?? ""
        let email = form.first("email") ?? ""
        guard let sent = request.cookies[DashboardShared.loginCSRFCookie]?.value, let field = form.first("csrf"), SignInService.equal(sent, field) else {
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
            return HTML.redirect("/login/second-factor", cookies: [setCookie(DashboardShared.sessionCookie, step.token), setCookie(DashboardShared.loginCSRFCookie, "", path: "/login", maxAge: 0)])
        } catch let error as KaitoError where error.code == .signInFailed {
            return loginPage(error: error.detail, organization: organization, email: email, status: .unauthorized)
        } catch let error as KaitoError where error.code == .unavailable {
            // Too many sign-ins waiting for a password check (PooledPasswordHasher): the form again, with a 503.
            return loginPage(error: error.detail, organization: organization, email: email, status: .serviceUnavailable)
        }
    }

    func secondFactorPage(_ request: Request, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let token = request.cookies[DashboardShared.sessionCookie]?.value, let pending = try await signIn.pendingSession(token: token) else {
            return HTML.redirect("/login")
        }
        struct Enrolment { let qrCode: String?, uri: String, secret: Templates.Copyable }
        struct Page { let error: String?, enrolment: Enrolment?, csrf: String }
        let enrolment = try await signIn.enrolment(for: pending).map { secret, uri in
            // The QR code is SVG this server drew (`QRCode.svg`): markup, not a value to escape.
            Enrolment(qrCode: QRCode(uri)?.svg(label: "QR code of the account for an authenticator app"), uri: uri, secret: Templates.Copyable(value: secret, id: "totp-secret"))
        }
        let body = Templates.render("second_factor", Page(error: error, enrolment: enrolment, csrf: pending.csrfToken))
        return HTML.response(HTML.page(enrolment == nil ? "Second factor" : "Set up your second factor", body), status: status)
    }

    func secondFactor(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let token = request.cookies[DashboardShared.sessionCookie]?.value, let pending = try await signIn.pendingSession(token: token) else {
            return HTML.redirect("/login")
        }
        guard let field = form.first("csrf"), SignInService.equal(field, pending.csrfToken) else {
            return try await secondFactorPage(request, error: "The form expired. Please try again.", status: .forbidden)
        }
        do {
            let step = try await signIn.verifySecondFactor(
                token: token, code: form.first("code") ?? "", address: address(request, context)?.description, origin: origin(request, context))
            return HTML.redirect("/tokens", cookies: [setCookie(DashboardShared.sessionCookie, step.token)])
        } catch let error as KaitoError where error.code == .signInFailed {
            return try await secondFactorPage(request, error: error.detail, status: .unauthorized)
        }
    }

    func logout(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        let signedOut = HTML.redirect("/login", cookies: [setCookie(DashboardShared.sessionCookie, "", maxAge: 0)])
        guard let token = request.cookies[DashboardShared.sessionCookie]?.value else { return signedOut }
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
}
