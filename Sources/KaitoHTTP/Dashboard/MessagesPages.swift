import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// The SMS inboxes and what they received (each view is an audited `sms.message.read`, as in the API). The page
/// waits for the next message of the inbox chosen, or of any inbox (`GET /messages/wait`, the API's long-poll: each
/// message it brings is an audited read too), and adds it at the top without a reload.
struct MessagesPages: DashboardPage {
    let shared: DashboardShared
    let sms: SMSService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/messages") { request, context in
            try await signedIn(request, context, scope: .smsRead) { caller, session in try await messagesPage(request, caller, session) }
        }
        router.get("/messages/wait") { request, context in try await waitForMessage(request, context) }
    }

    /// The next message of `inbox` (of any inbox without one) after the message `after`, as JSON (200), or 204 after
    /// 25 s without one; 401 once the session has ended (waiting does not extend it).
    func waitForMessage(_ request: Request, _ context: KaitoRequestContext) async throws -> Response {
        struct Message: Encodable {
            let id: String
            let received_at: String
            let from: String
            let to: String
            let code: String?
            let body: String
        }
        guard let (caller, _) = try await pageSession(request, context) else { return try Self.json(DashboardSignedOut(), status: .unauthorized) }
        try caller.require(.smsRead)
        let inbox = request.uri.queryParameters["inbox"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let after = request.uri.queryParameters["after"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let after, !Identifier.isWellFormed(after, prefix: SMSMessage.idPrefix) {
            return Response(status: .badRequest, headers: [.cacheControl: "no-store"])
        }
        guard let message = try await sms.wait(inboxID: inbox, after: after, timeout: .seconds(25), by: caller) else {
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
        return try Self.json(Message(
            id: message.id, received_at: Timestamp.format(message.receivedAt), from: message.from, to: message.to, code: message.code, body: message.body))
    }

    /// Inboxes named at the top of the messages page (the inboxes page lists them all).
    static let inboxLinks = 100

    func messagesPage(_ request: Request, _ caller: Caller, _ session: DashboardSession) async throws -> Response {
        let inboxPage = try await sms.listInboxes(by: caller, after: nil, limit: Self.inboxLinks)
        let inboxes = inboxPage.items
        let selected = request.uri.queryParameters["inbox"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let before = HTML.cursor(request, "before")
        let page = try await sms.messages(SMSMessageFilter(inboxID: selected), by: caller, before: before, limit: DashboardShared.pageSize)
        let messages = page.items
        let links = ([#"<a href="/messages"\#(selected == nil ? #" aria-current="page""# : "")>All inboxes</a>"#] + inboxes.map { inbox -> String in
            let name = inbox.label.map { "\($0) (\(inbox.phoneNumber))" } ?? inbox.phoneNumber
            return #"<a href="/messages?inbox=\#(HTML.escape(inbox.id))"\#(selected == inbox.id ? #" aria-current="page""# : "")>\#(HTML.escape(name))</a>"#
        }).joined(separator: " · ") + (inboxPage.nextCursor == nil ? ""
            : #" · <a href="/inboxes">more inboxes</a> (the first \#(Self.inboxLinks) are named here; every inbox's messages open from its page)"#)
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
        // The first page waits for the next message of what it shows (after the newest shown; with none yet, after
        // the page's own time: a message that arrives before the page's first wait is still newer than it). Older
        // pages stay as they are.
        let after = messages.first?.id ?? SMSService.cursor(at: clock.now())
        let live = before != nil ? "" : #" data-inbox="\#(HTML.escape(selected ?? ""))" data-after="\#(HTML.escape(after))""#
        let body = """
            <p>\(links)</p>
            <p class="muted" id="live-status" role="status">\(before == nil ? "New messages appear here as they arrive." : #"Older messages. <a href="/messages\#(selected.map { "?inbox=" + HTML.escape($0) } ?? "")">The newest</a>"#)</p>
            <table id="messages"\(live)\(messages.isEmpty ? " hidden" : "")><thead><tr><th>Received</th><th>From</th><th class="optional">To</th><th>Message</th></tr></thead><tbody>\(rows)</tbody></table>
            \(messages.isEmpty ? #"<p class="muted" id="no-messages">No messages yet.</p>"# : "")
            \(HTML.nextPage("/messages", cursor: page.nextCursor, name: "before", keeping: selected.map { [("inbox", $0)] } ?? [], label: "Older messages"))
            """
        return HTML.response(HTML.page("Messages", signedIn: Self.navigation(caller, session), body))
    }
}
