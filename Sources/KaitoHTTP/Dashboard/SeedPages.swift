import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// A token's seed, shown only after the user enters a code of their second factor again (`tokens:seed`; the view is
/// the API's flagged `token.seed.read` event).
struct SeedPages: DashboardPage {
    let shared: DashboardShared
    let tokens: TokenService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/tokens/{slug}/seed") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            return try await signedIn(request, context, scope: .tokensSeed) { caller, session in
                // After the second factor, the redirect carried the seed here once (a reload asks for a code again).
                try await takeFlash(request, session: session, path: Self.seedPath(slug)) { shown in
                    try await seedPage(slug: slug, caller, session, shown: shown.flatMap { try? OTPAuthURI(parsing: $0) }, error: nil)
                }
            }
        }
        router.post("/tokens/{slug}/seed") { request, context in
            let slug = context.parameters.get("slug") ?? ""
            return try await signedInForm(request, context, scope: .tokensSeed) { caller, session, form in
                guard let user = caller.user else { throw KaitoError(.insufficientScope, "Only a signed-in user may see a seed.") }
                do {
                    try await signIn.confirmSecondFactor(
                        user: user, code: form.first("code") ?? "", address: caller.address?.description, origin: caller.origin)
                } catch let error as KaitoError where error.code == .signInFailed {
                    return try await seedPage(slug: slug, caller, session, shown: nil, error: error.detail, status: .unauthorized)
                }
                let seed = try await self.tokens.seed(slug: slug, by: caller)
                // Post, redirect, get: the seed crosses the redirect sealed for this session, in a cookie of this page only.
                return try redirect(Self.seedPath(slug), showingOnce: seed.uriString, path: Self.seedPath(slug), session: session)
            }
        }
    }

    /// A token's seed page (the slug named a token of this organisation before anything is carried to it).
    static func seedPath(_ slug: String) -> String { "/tokens/\(slug)/seed" }

    func seedPage(
        slug: String, _ caller: Caller, _ session: DashboardSession, shown: OTPAuthURI?, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let token = try await self.tokens.get(slug: slug, by: caller)
        let body: String
        if let shown {
            body = """
                <p>The seed of <strong>\(HTML.escape(token.name))</strong>. This view is recorded in the audit log.</p>
                <p>\(HTML.copyable(Base32.encode(shown.secret), id: "seed"))</p>
                <p><a href="\(HTML.escape(shown.uriString))">Open in an authenticator app</a></p>
                <p><a href="/tokens">Back to tokens</a></p>
                """
        } else {
            body = """
                \(HTML.error(error))
                <p>Showing the seed of <strong>\(HTML.escape(token.name))</strong> (\(HTML.escape(token.slug))) needs a code from your
                authenticator app again.</p>
                <form method="post" action="/tokens/\(HTML.escape(token.slug))/seed">
                \(HTML.csrf(session.csrfToken))
                <label for="code">Code from your authenticator app</label>
                <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus>
                <p><button class="primary" type="submit">Show the seed</button></p>
                </form>
                """
        }
        return HTML.response(HTML.page("Seed", signedIn: Self.navigation(caller, session), body), status: status)
    }
}
