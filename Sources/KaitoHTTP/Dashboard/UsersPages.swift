import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The users page (`org:admin`): the organisation's users, adding and removing them, a member's token grants, and
/// setting another user's password; and every user's own account page (changing their password).
struct UsersPages: DashboardPage {
    let shared: DashboardShared
    let users: UserService
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
                    let user = try await users.add(
                        email: form.first("email"), name: form.first("name").flatMap { $0.isEmpty ? nil : $0 }, role: form.first("role"), by: .caller(caller))
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
                    _ = try await users.setGrants(userID: id, slugs: KeysPages.pickedTokens(form), by: .caller(caller))
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
                    let (user, _) = try await users.grants(userID: id, by: .caller(caller))
                    try Self.confirmed(form, user.email)
                    try await users.remove(id: id, by: .caller(caller))
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
        struct Row { let id: String, email: String, name: String?, role: String, createdAt: Templates.Time }
        struct Role { let name: String, selected: Bool }
        struct Page {
            let notice: String?, error: String?, users: [Row], nextPage: String, csrf: String, enteredEmail: String, enteredName: String
            let roles: [Role]
        }
        // After a refusal the form comes back as it was sent.
        let chosenRole = entered?.first("role") ?? OrgUser.Role.member.rawValue
        let page = try await users.list(by: .caller(caller), after: after, limit: DashboardShared.pageSize)
        let body = Templates.render("users", Page(
            notice: notice, error: error,
            users: page.items.map { Row(id: $0.id, email: $0.email, name: $0.name, role: $0.role.rawValue, createdAt: Templates.Time($0.createdAt)) },
            nextPage: HTML.nextPage("/users", cursor: page.nextCursor), csrf: session.csrfToken,
            enteredEmail: entered?.first("email") ?? "", enteredName: entered?.first("name") ?? "",
            roles: OrgUser.Role.allCases.map { Role(name: $0.rawValue, selected: $0.rawValue == chosenRole) }))
        return HTML.response(HTML.page("Users", signedIn: Self.navigation(caller, session), body), status: status)
    }

    func userPage(
        _ id: String, _ caller: Caller, _ session: DashboardSession, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let (user, granted) = try await users.grants(userID: id, by: .caller(caller))
        struct Page {
            let error: String?, email: String, name: String?, role: String, id: String, owner: Bool, picker: Templates.TokenPicker?, csrf: String
            let lockedUntil: Templates.Time?, unlock: Templates.PostButton, remove: Templates.Confirmation
        }
        var picker: Templates.TokenPicker?
        if user.role == .member {
            let tokens = try await self.tokens.list(by: caller, after: nil, limit: KeysPages.pickerSize).items
            picker = Templates.TokenPicker(shown: tokens, picked: granted, pickerSize: KeysPages.pickerSize) { "\($0.name) (\($0.slug))" }
        }
        let body = Templates.render("user", Page(
            error: error, email: user.email, name: user.name, role: user.role.rawValue, id: user.id, owner: user.role == .owner,
            picker: picker, csrf: session.csrfToken, lockedUntil: try await signIn.lockedUntil(userID: user.id, by: caller).map(Templates.Time.init),
            unlock: Templates.PostButton(action: "/users/\(user.id)/unlock", label: "Lift the lock", csrf: session.csrfToken, danger: false),
            remove: Templates.Confirmation(
                action: "/users/\(user.id)/remove", label: "Remove user", expected: user.email,
                consequence: "Removing the user ends their sessions and revokes every key issued to them.", csrf: session.csrfToken)))
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
        struct Page { let error: String?, email: String, role: String, csrf: String }
        let body = Templates.render("account", Page(
            error: error, email: caller.user?.email ?? "", role: caller.user?.role.rawValue ?? "", csrf: session.csrfToken))
        return HTML.response(HTML.page("Account", signedIn: Self.navigation(caller, session), body), status: status)
    }
}
