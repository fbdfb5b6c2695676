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
        guard let (caller, _) = try await pageSession(request, context) else { return try Self.json(context, DashboardSignedOut(), status: .unauthorized) }
        try caller.require(.smsRead)
        let inbox = request.uri.queryParameters["inbox"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let after = request.uri.queryParameters["after"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if let after, !Identifier.isWellFormed(after, prefix: SMSMessage.idPrefix) {
            return Response(status: .badRequest, headers: [.cacheControl: "no-store"])
        }
        guard let message = try await sms.wait(inboxID: inbox, after: after, timeout: .seconds(25), by: caller) else {
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
        return try Self.json(context, Message(
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
        struct InboxLink { let id: String, name: String, current: Bool }
        struct Message { let id: String, receivedAt: Templates.Time, from: String, to: String, code: String?, body: String }
        struct Live { let inbox: String, after: String }
        struct Page {
            let selected: String?, inboxes: [InboxLink], moreInboxes: Bool, inboxLinks: Int, older: Bool, live: Live?
            let messages: [Message], nextPage: String
        }
        let number = Dictionary(inboxes.map { ($0.id, $0.phoneNumber) }, uniquingKeysWith: { first, _ in first })
        // The first page waits for the next message of what it shows (after the newest shown; with none yet, after
        // the page's own time: a message that arrives before the page's first wait is still newer than it). Older
        // pages stay as they are.
        let after = messages.first?.id ?? SMSService.cursor(at: clock.now())
        let body = Templates.render("messages", Page(
            selected: selected,
            inboxes: inboxes.map { inbox in
                InboxLink(id: inbox.id, name: inbox.label.map { "\($0) (\(inbox.phoneNumber))" } ?? inbox.phoneNumber, current: selected == inbox.id)
            },
            moreInboxes: inboxPage.nextCursor != nil, inboxLinks: Self.inboxLinks, older: before != nil,
            live: before != nil ? nil : Live(inbox: selected ?? "", after: after),
            messages: messages.map {
                Message(id: $0.id, receivedAt: Templates.Time($0.receivedAt), from: $0.from, to: number[$0.inboxID] ?? $0.to, code: $0.code, body: $0.body)
            },
            nextPage: HTML.nextPage("/messages", cursor: page.nextCursor, name: "before", keeping: selected.map { [("inbox", $0)] } ?? [], label: "Older messages")))
        return HTML.response(HTML.page("Messages", signedIn: Self.navigation(caller, session), body))
    }
}
