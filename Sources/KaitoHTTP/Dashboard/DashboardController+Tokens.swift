import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// Adding, editing and deleting tokens from the dashboard (`tokens:write`), with the API's rules: a token comes from an
/// `otpauth://` URI (what an authenticator app exports, or a QR code holds) or from a secret typed in; replacing a
/// seed asks for a code of the user's second factor again, as viewing one does; deleting asks for the slug typed.
/// Every change answers with a redirect (303) to the page that shows its result, so a reload never repeats it.
extension DashboardController {
    func registerTokens(on router: RouterGroup<KaitoRequestContext>) {
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
                    return try await tokensPage(caller, session, query: TokensQuery(), entered: form, error: error.pageMessage,
                                                status: ProblemTable.status(for: error.code))
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
                    return try await tokenPage(slug: slug, caller, session, notice: nil, error: error.pageMessage, status: ProblemTable.status(for: error.code))
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
        slug: String, _ caller: Caller, _ session: DashboardSession, notice: TokenNotice?, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
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
                <label for="token-name">Name</label><input type="text" id="token-name" name="name" value="\(HTML.escape(token.name))" required>
                <label for="issuer">Issuer</label><input type="text" id="issuer" name="issuer" value="\(HTML.escape(token.issuer ?? ""))">
                <label for="account">Account</label><input type="text" id="account" name="account" value="\(HTML.escape(token.account ?? ""))">
                <p><button class="primary" type="submit">Save</button></p>
                </form>
                <h2>Replace the seed</h2>
                <p>When the service issued a new secret. The codes change at once; it needs a code from your authenticator app.</p>
                <form method="post" action="/tokens/\(slugText)/rotate">
                \(HTML.csrf(session.csrfToken))
                <label for="otpauth_uri">New otpauth:// URI</label><input type="text" id="otpauth_uri" name="otpauth_uri" autocomplete="off" spellcheck="false">
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
}
