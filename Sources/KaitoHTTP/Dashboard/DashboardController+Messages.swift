import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// The SMS inboxes and what they received (each view is an audited `sms.message.read`, as in the API). With one
/// inbox chosen, the page waits for the next message (`GET /messages/wait`, the API's long-poll: each message it
/// brings is an audited read too) and adds it at the top without a reload.
extension DashboardController {
    func registerMessages(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/messages") { request, context in
            try await signedIn(request, context, scope: .smsRead) { caller, session in try await messagesPage(request, caller, session) }
        }
        router.get("/messages/wait") { request, context in try await waitForMessage(request, context) }
    }

    /// The next message of `inbox` after the message `after`, as JSON (200), or 204 after 25 s without one; 401 once
    /// the session has ended (waiting does not extend it).
    func waitForMessage(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        struct Message: Encodable {
            let id: String
            let received_at: String
            let from: String
            let code: String?
            let body: String
        }
        guard let (caller, _) = try await pageSession(request, context) else { return try Self.json(SignedOut(), status: .unauthorized) }
        try caller.require(.smsRead)
        let inbox = request.uri.queryParameters["inbox"].map(String.init) ?? ""
        let after = request.uri.queryParameters["after"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        guard let message = try await sms.wait(inboxID: inbox, after: after, timeout: .seconds(25), by: caller) else {
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
        return try Self.json(Message(
            id: message.id, received_at: Timestamp.format(message.receivedAt), from: message.from, code: message.code, body: message.body))
    }

    func messagesPage(_ request: Request, _ caller: Caller, _ session: DashboardSession) async throws -> Response {
        let inboxes = try await sms.listInboxes(by: caller, after: nil, limit: 100).items
        let selected = request.uri.queryParameters["inbox"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let messages = try await sms.messages(SMSMessageFilter(inboxID: selected), by: caller, before: nil, limit: 50).items
        let links = ([#"<a href="/messages"\#(selected == nil ? #" aria-current="page""# : "")>All inboxes</a>"#] + inboxes.map { inbox -> String in
            let name = inbox.label.map { "\($0) (\(inbox.phoneNumber))" } ?? inbox.phoneNumber
            return #"<a href="/messages?inbox=\#(HTML.escape(inbox.id))"\#(selected == inbox.id ? #" aria-current="page""# : "")>\#(HTML.escape(name))</a>"#
        }).joined(separator: " · ")
        let number = Dictionary(inboxes.map { ($0.id, $0.phoneNumber) }, uniquingKeysWith: { first, _ in first })
        let rows = messages.map { message -> String in
            let code = message.code.map { code in
                #"<span class="code" id="code-\#(HTML.escape(message.id))">\#(HTML.escape(code))</span> <button type="button" data-copy="code-\#(HTML.escape(message.id))">Copy</button><br>"#
            }
            return """
                <tr><td>\(HTML.time(message.receivedAt))</td><td>\(HTML.escape(message.from))</td>
                <td class="optional">\(HTML.escape(number[message.inboxID] ?? message.to))</td>
                <td>\(code ?? "")\(HTML.escape(message.body))</td></tr>
                """
        }.joined()
        // One inbox chosen: the page waits for its next message (after the newest shown).
        let live = selected.map { inbox in
            // With no message yet, the cursor is the page's own time: a message that arrives before the page's first
            // wait is still newer than it.
            let after = messages.first?.id ?? SMSService.cursor(at: clock.now())
            return #" data-inbox="\#(HTML.escape(inbox))" data-after="\#(HTML.escape(after))""#
        } ?? ""
        let body = """
            <p>\(links)</p>
            \(selected == nil ? #"<p class="muted">Choose an inbox to see its new messages as they arrive.</p>"# : #"<p class="muted" id="live-status" role="status">New messages appear here as they arrive.</p>"#)
            <table id="messages"\(live)\(messages.isEmpty ? " hidden" : "")><thead><tr><th>Received</th><th>From</th><th class="optional">To</th><th>Message</th></tr></thead><tbody>\(rows)</tbody></table>
            \(messages.isEmpty ? #"<p class="muted" id="no-messages">No messages yet.</p>"# : "")
            """
        return HTML.response(HTML.page("Messages", signedIn: Self.navigation(caller, session), body))
    }
}
