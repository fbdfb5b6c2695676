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
        // After a refusal the "Add an inbox" form comes back as it was sent.
        func value(_ name: String) -> String { HTML.escape(entered?.first(name) ?? "") }
        let page = try await sms.listInboxes(by: caller, after: after, limit: DashboardShared.pageSize)
        let inboxes = page.items
        var rows = ""
        for inbox in inboxes {
            let action = "/inboxes/\(HTML.escape(inbox.id))"
            let simulate = inbox.provider == .simulator ? """
                <details><summary>Deliver a test message</summary><form method="post" action="\(action)/simulate">
                \(HTML.csrf(session.csrfToken))
                <label for="from-\(HTML.escape(inbox.id))">From</label><input type="text" id="from-\(HTML.escape(inbox.id))" name="from" placeholder="+15557654321" required>
                <label for="body-\(HTML.escape(inbox.id))">Message</label><input type="text" id="body-\(HTML.escape(inbox.id))" name="body" required maxlength="1600">
                <p><button type="submit">Deliver</button></p></form></details>
                """ : ""
            rows += """
                <tr><td><a href="/messages?inbox=\(HTML.escape(inbox.id))"><strong>\(HTML.escape(inbox.phoneNumber))</strong></a><br>
                <span class="muted">\(HTML.escape(inbox.id)) · \(inbox.provider.rawValue)</span>\(simulate)</td>
                <td><form method="post" action="\(action)/label" class="inline">\(HTML.csrf(session.csrfToken))
                <label class="visually-hidden" for="label-\(HTML.escape(inbox.id))">Label</label><input type="text" id="label-\(HTML.escape(inbox.id))" name="label" value="\(HTML.escape(inbox.label ?? ""))" maxlength="200">
                <button type="submit">Save</button></form></td>
                <td>\(HTML.confirmedAction("/inboxes/\(inbox.id)/delete", "Delete", expected: inbox.phoneNumber,
                    consequence: "The inbox and every message it received are deleted; this cannot be undone.", csrf: session.csrfToken))</td></tr>
                """
        }
        let chosen = entered?.first("provider")
        let providers = SMSProvider.allCases.map {
            #"<option value="\#($0.rawValue)"\#($0.rawValue == chosen ? " selected" : "")>\#($0.rawValue)</option>"#
        }.joined()
        let body = """
            \(HTML.error(error))
            \(inboxes.isEmpty ? #"<p class="muted">No inboxes yet.</p>"# : #"<table><thead><tr><th>Number</th><th>Label</th><th></th></tr></thead><tbody>\#(rows)</tbody></table>"#)
            \(HTML.nextPage("/inboxes", cursor: page.nextCursor))
            <h2>Add an inbox</h2>
            <p class="muted">Point the number's incoming-message webhook at <code>/providers/twilio/sms</code> on this server's public URL; set the
            organisation's Twilio credentials with the API (<code>PUT /v1/org/providers/twilio</code>).</p>
            <form method="post" action="/inboxes">
            \(HTML.csrf(session.csrfToken))
            <label for="phone">Phone number (E.164)</label><input type="text" id="phone" name="phone_number" placeholder="+15551234567" required value="\(value("phone_number"))">
            <label for="label">Label (optional)</label><input type="text" id="label" name="label" maxlength="200" value="\(value("label"))">
            <label for="provider">Provider</label><select id="provider" name="provider">\(providers)</select>
            <p><button class="primary" type="submit">Add inbox</button></p>
            </form>
            """
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
