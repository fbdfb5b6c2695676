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
        struct Shown { let secret: Templates.Copyable, uri: String }
        struct Page { let name: String, slug: String, shown: Shown?, error: String?, csrf: String }
        let body = Templates.render("seed", Page(
            name: token.name, slug: token.slug,
            shown: shown.map { Shown(secret: Templates.Copyable(value: Base32.encode($0.secret), id: "seed"), uri: $0.uriString) },
            error: error, csrf: session.csrfToken))
        return HTML.response(HTML.page("Seed", signedIn: Self.navigation(caller, session), body), status: status)
    }
}
