import Foundation
import Hummingbird
import KaitoCore

/// The SMS inboxes and what they received (each view is an audited `sms.message.read`, as in the API).
extension DashboardController {
    func registerMessages(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/messages") { request, context in
            try await signedIn(request, context, scope: .smsRead) { caller, session in try await messagesPage(request, caller, session) }
        }
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
            """
            <tr><td>\(HTML.time(message.receivedAt))</td><td>\(HTML.escape(message.from))</td>
            <td class="optional">\(HTML.escape(number[message.inboxID] ?? message.to))</td>
            <td>\(message.code.map { #"<span class="code">\#(HTML.escape($0))</span><br>"# } ?? "")\(HTML.escape(message.body))</td></tr>
            """
        }.joined()
        let body = """
            <p>\(links)</p>
            \(messages.isEmpty ? #"<p class="muted">No messages yet.</p>"# : "")
            \(messages.isEmpty ? "" : #"<table><thead><tr><th>Received (UTC)</th><th>From</th><th class="optional">To</th><th>Message</th></tr></thead><tbody>\#(rows)</tbody></table>"#)
            """
        return HTML.response(HTML.page("Messages", signedIn: Self.navigation(caller, session), body))
    }
}
