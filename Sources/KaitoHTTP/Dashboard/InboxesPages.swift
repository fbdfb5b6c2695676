import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The inboxes page (`org:admin`): the organisation's phone numbers, adding one, relabelling, deleting, and
/// delivering a test message to a simulator inbox. What they received is on the messages page.
struct InboxesPages: DashboardPage {
    let shared: DashboardShared
    let sms: SMSService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/inboxes") { request, context in
            try await signedIn(request, context, scope: .orgAdmin) { caller, session in try await inboxesPage(caller, session, error: nil, after: HTML.cursor(request)) }
        }
        router.post("/inboxes") { request, context in
            try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await inboxAction(caller, session, entered: form) {
                    let inbox = try await sms.createInbox(
                        phoneNumber: form.first("phone_number"), label: form.filled("label"), provider: form.first("provider"), by: caller)
                    return "Inbox \(inbox.phoneNumber) added."
                }
            }
        }
        router.post("/inboxes/{id}/label") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await inboxAction(caller, session) {
                    let inbox = try await sms.updateInbox(id: id, label: form.filled("label"), by: caller)
                    return "Inbox \(inbox.phoneNumber) relabelled."
                }
            }
        }
        router.post("/inboxes/{id}/delete") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await inboxAction(caller, session) {
                    let inbox = try await sms.inbox(id: id, by: caller)
                    try Self.confirmed(form, inbox.phoneNumber)
                    try await sms.deleteInbox(id: id, by: caller)
                    return "Inbox \(inbox.phoneNumber) deleted, with its messages."
                }
            }
        }
        router.post("/inboxes/{id}/simulate") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await inboxAction(caller, session) {
                    let message = try await sms.simulate(inboxID: id, from: form.first("from"), body: form.first("body"), by: caller)
                    return "Message \(message.id) delivered."
                }
            }
        }
    }

    func inboxesPage(
        _ caller: Caller, _ session: DashboardSession, error: String?, entered: FormBody? = nil, after: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        struct Row { let id: String, phoneNumber: String, provider: String, simulator: Bool, label: String, delete: Templates.Confirmation }
        struct Provider { let name: String, selected: Bool }
        struct Page {
            let error: String?, inboxes: [Row], hasInboxes: Bool, nextPage: String, csrf: String
            let enteredPhoneNumber: String, enteredLabel: String, providers: [Provider]
        }
        let page = try await sms.listInboxes(by: caller, after: after, limit: DashboardShared.pageSize)
        let rows = page.items.map { inbox in
            Row(id: inbox.id, phoneNumber: inbox.phoneNumber, provider: inbox.provider.rawValue, simulator: inbox.provider == .simulator,
                label: inbox.label ?? "", delete: Templates.Confirmation(
                    action: "/inboxes/\(inbox.id)/delete", label: "Delete", expected: inbox.phoneNumber,
                    consequence: "The inbox and every message it received are deleted; this cannot be undone.", csrf: session.csrfToken))
        }
        // After a refusal the "Add an inbox" form comes back as it was sent.
        let chosen = entered?.first("provider")
        let body = Templates.render("inboxes", Page(
            error: error, inboxes: rows, hasInboxes: !rows.isEmpty, nextPage: HTML.nextPage("/inboxes", cursor: page.nextCursor),
            csrf: session.csrfToken, enteredPhoneNumber: entered?.first("phone_number") ?? "", enteredLabel: entered?.first("label") ?? "",
            providers: SMSProvider.allCases.map { Provider(name: $0.rawValue, selected: $0.rawValue == chosen) }))
        return HTML.response(HTML.page("Inboxes", signedIn: Self.navigation(caller, session), body), status: status)
    }

    /// Runs a change, then redirects to the inboxes page, which says what it did; a refusal shows the page with it (an
    /// unknown inbox: 404), the add form as `entered`.
    func inboxAction(
        _ caller: Caller, _ session: DashboardSession, entered: FormBody? = nil, _ change: () async throws -> String
    ) async throws -> Response {
        try await afterChange(redirectTo: "/inboxes", session: session, change) {
            try await inboxesPage(caller, session, error: $0, entered: entered, status: $1)
        }
    }
}
