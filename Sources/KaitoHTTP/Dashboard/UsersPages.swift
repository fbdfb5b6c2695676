import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The users page (`org:admin`): the organisation's users, adding and removing them, a member's token grants, and
/// setting another user's password; and every user's own account page (changing their password).
struct UsersPages: DashboardPage {
    let shared: DashboardShared
    let organizations: OrganizationService
    let tokens: TokenService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/users") { request, context in
            let removed = request.uri.queryParameters["removed"] == "1" ? "User removed; their sessions ended and their keys are revoked." : nil
            return try await signedIn(request, context, scope: .orgAdmin) { caller, session in
                try await usersPage(caller, session, notice: removed, error: nil, after: HTML.cursor(request))
            }
        }
        router.post("/users") { request, context in
            try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                do {
                    let user = try await organizations.addUser(email: form.first("email"), name: form.first("name").flatMap { $0.isEmpty ? nil : $0 },
                                                                       role: form.first("role"), by: caller)
                    return HTML.redirect("/users/\(user.id)")
                } catch let error as KaitoError {
                    return try await refused(error) { try await usersPage(caller, session, error: error.pageMessage, entered: form, status: ProblemTable.status(for: error.code)) }
                }
            }
        }
        router.get("/users/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedIn(request, context, scope: .orgAdmin) { caller, session in try await userPage(id, caller, session, error: nil) }
        }
        router.post("/users/{id}/grants") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await userAction(id, caller, session, done: "Token grants saved.") {
                    _ = try await organizations.setGrants(userID: id, slugs: KeysPages.pickedTokens(form), by: caller)
                }
            }
        }
        router.post("/users/{id}/password") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await userAction(id, caller, session, done: "Password set; the user's sessions ended.") {
                    _ = try await signIn.setPassword(
                        userID: id, password: form.first("password") ?? "", resetSecondFactor: form.first("reset_second_factor") == "true", by: caller)
                }
            }
        }
        router.post("/users/{id}/unlock") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, _ in
                try await userAction(id, caller, session, done: "The lock is lifted: the user can sign in again.") {
                    try await signIn.unlock(userID: id, by: caller)
                }
            }
        }
        router.post("/users/{id}/remove") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                do {
                    let (user, _) = try await organizations.grants(userID: id, by: caller)
                    try Self.confirmed(form, user.email)
                    try await organizations.removeUser(id: id, by: caller)
                    return HTML.redirect("/users?removed=1")
                } catch let error as KaitoError where error.code != .notFound {
                    return try await userPage(id, caller, session, error: error.pageMessage, status: ProblemTable.status(for: error.code))
                }
            }
        }
        router.get("/account") { request, context in
            try await signedIn(request, context, scope: nil) { caller, session in try await accountPage(caller, session, error: nil) }
        }
        router.post("/account/password") { request, context in
            try await signedInForm(request, context, scope: nil) { caller, session, form in
                let new = form.first("new_password") ?? ""
                guard new == form.first("confirm_password") else {
                    return try await accountPage(caller, session, error: "The new passwords differ.", status: .unprocessableContent)
                }
                do {
                    try await signIn.changePassword(current: form.first("current_password") ?? "", new: new, session: session, by: caller)
                    return try redirect("/account", notice: "Password changed; your other sessions ended.", session: session)
                } catch let error as KaitoError {
                    return try await accountPage(caller, session, error: error.pageMessage, status: ProblemTable.status(for: error.code))
                }
            }
        }
    }

    func usersPage(
        _ caller: Caller, _ session: DashboardSession, notice: String? = nil, error: String?, entered: FormBody? = nil, after: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        // After a refusal the form comes back as it was sent.
        func value(_ name: String) -> String { HTML.escape(entered?.first(name) ?? "") }
        let chosenRole = entered?.first("role") ?? OrgUser.Role.member.rawValue
        let page = try await organizations.users(by: caller, after: after, limit: DashboardShared.pageSize)
        let users = page.items
        let rows = users.map { user -> String in
            """
            <tr><td><a href="/users/\(HTML.escape(user.id))"><strong>\(HTML.escape(user.email))</strong></a>\(user.name.map { "<br><span class=\"muted\">\(HTML.escape($0))</span>" } ?? "")</td>
            <td>\(user.role.rawValue)</td><td class="optional">\(HTML.time(user.createdAt))</td></tr>
            """
        }.joined()
        let roles = OrgUser.Role.allCases.map { role -> String in
            #"<option value="\#(role.rawValue)"\#(role.rawValue == chosenRole ? " selected" : "")>\#(role.rawValue)</option>"#
        }.joined()
        let body = """
            \(HTML.notice(notice))\(HTML.error(error))
            <table><thead><tr><th>User</th><th>Role</th><th class="optional">Added (UTC)</th></tr></thead><tbody>\(rows)</tbody></table>
            \(HTML.nextPage("/users", cursor: page.nextCursor))
            <h2>Add a user</h2>
            <p class="muted">Members see only the tokens granted to them; owners and admins see everything. Set the new user's password on their page.</p>
            <form method="post" action="/users">
            \(HTML.csrf(session.csrfToken))
            <label for="email">Email</label><input type="email" id="email" name="email" required maxlength="254" value="\(value("email"))">
            <label for="name">Name (optional)</label><input type="text" id="name" name="name" maxlength="200" value="\(value("name"))">
            <label for="role">Role</label><select id="role" name="role">\(roles)</select>
            <p><button class="primary" type="submit">Add user</button></p>
            </form>
            """
        return HTML.response(HTML.page("Users", signedIn: Self.navigation(caller, session), body), status: status)
    }

    func userPage(
        _ id: String, _ caller: Caller, _ session: DashboardSession, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let (user, granted) = try await organizations.grants(userID: id, by: caller)
        let action = "/users/\(HTML.escape(user.id))"
        var grants = "<p>\(user.role == .owner ? "An owner" : "An admin") sees every token.</p>"
        if user.role == .member {
            let tokens = try await self.tokens.list(by: caller, after: nil, limit: KeysPages.pickerSize).items
            let boxes = tokens.map { token in
                HTML.checkbox(name: "token", value: token.slug, label: "\(token.name) (\(token.slug))", checked: granted.contains(token.slug))
            }.joined() + KeysPages.moreTokens(shown: tokens, picked: granted)
            grants = """
                <form method="post" action="\(action)/grants">
                \(HTML.csrf(session.csrfToken))
                <fieldset><legend>Tokens this member sees and uses</legend>\(tokens.isEmpty ? #"<p class="muted">No tokens yet.</p>"# : boxes)</fieldset>
                <p><button class="primary" type="submit">Save grants</button></p>
                </form>
                """
        }
        let body = """
            \(HTML.error(error))
            <p><strong>\(HTML.escape(user.email))</strong>\(user.name.map { " · " + HTML.escape($0) } ?? ""), role <strong>\(user.role.rawValue)</strong>,
            id <code>\(HTML.escape(user.id))</code></p>
            <h2>Token grants</h2>
            \(grants)
            \(try await signIn.lockedUntil(userID: user.id, by: caller).map { until in
                #"<h2>Locked</h2><p class="error">Locked after failed sign-ins until \#(HTML.time(until)).</p>"#
                    + HTML.postButton("\(action)/unlock", "Lift the lock", csrf: session.csrfToken)
            } ?? "")
            <h2>Password</h2>
            <form method="post" action="\(action)/password">
            \(HTML.csrf(session.csrfToken))
            <label for="password">New password (12 to 72 bytes)</label><input type="password" id="password" name="password" required minlength="12" autocomplete="new-password">
            <p><label class="inline"><input type="checkbox" name="reset_second_factor" value="true"> Also reset the second factor (the user enrols a new one)</label></p>
            <p><button type="submit">Set password</button></p>
            </form>
            <h2>Remove</h2>
            \(HTML.confirmedAction("/users/\(user.id)/remove", "Remove user", expected: user.email,
                consequence: "Removing the user ends their sessions and revokes every key issued to them.", csrf: session.csrfToken))
            """
        return HTML.response(HTML.page("User", signedIn: Self.navigation(caller, session), body), status: status)
    }

    /// Runs a change on a user's page, then shows the page again with `done` or the refusal (an unknown user: 404).
    func userAction(
        _ id: String, _ caller: Caller, _ session: DashboardSession, done: String, _ change: () async throws -> Void
    ) async throws -> Response {
        try await afterChange(redirectTo: "/users/\(id)", session: session, { try await change(); return done }) {
            try await userPage(id, caller, session, error: $0, status: $1)
        }
    }

    func accountPage(_ caller: Caller, _ session: DashboardSession, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let user = caller.user
        let body = """
            \(HTML.error(error))
            <p>Signed in as <strong>\(HTML.escape(user?.email ?? ""))</strong>, role <strong>\(user?.role.rawValue ?? "")</strong>.</p>
            <h2>Change your password</h2>
            <form method="post" action="/account/password">
            \(HTML.csrf(session.csrfToken))
            <label for="current">Current password</label><input type="password" id="current" name="current_password" required autocomplete="current-password">
            <label for="new">New password (12 to 72 bytes)</label><input type="password" id="new" name="new_password" required minlength="12" autocomplete="new-password">
            <label for="confirm">New password again</label><input type="password" id="confirm" name="confirm_password" required minlength="12" autocomplete="new-password">
            <p><button class="primary" type="submit">Change password</button></p>
            </form>
            """
        return HTML.response(HTML.page("Account", signedIn: Self.navigation(caller, session), body), status: status)
    }
}
