import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// Every list of the dashboard that can grow goes on past its first page: followed from link to link, the pages show
/// every row exactly once.
@Suite("Dashboard: lists past one page")
struct DashboardPagingTests {
    typealias Browser = DashboardTests.Browser

    /// The ids `pattern` finds on `start` and on every page its "next" links lead to, in order.
    static func walk(_ browser: Browser, from start: String, _ pattern: String) async throws -> (ids: [String], pages: Int) {
        var ids: [String] = []
        var pages = 0
        var next: String? = start
        while let path = next, pages < 20 {
            let page = try await browser.get(path)
            #expect(page.status == .ok, "\(path): \(page.text.prefix(300))")
            pages += 1
            ids += Self.ids(page.text, pattern)
            next = Browser.match(#"<a href="([^"]+)" rel="next">"#, in: page.text).map { $0.replacingOccurrences(of: "&amp;", with: "&") }
        }
        return (ids, pages)
    }

    static func ids(_ text: String, _ pattern: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range(at: 1), in: text).map { String(text[$0]) } }
    }

    @Test("60 users, keys, inboxes, endpoints and messages, and 30 deliveries: 50 rows (25 deliveries) a page, every row once across the pages")
    func everyList() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_015))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let writer = try #require(try await client.send(.post, "/v1/keys", key: test.adminKey, json: """
                {"name": "writer", "scopes": ["org:admin", "sms:read"], "rate_limits": {"write": 10000, "read": 10000}}
                """).decode(KeyResponse.self).key)
            var users: Set<String> = [], keys: Set<String> = [], inboxes: Set<String> = [], endpoints: Set<String> = [], messages: Set<String> = []
            for index in 0..<60 {
                users.insert(try await test.runtime.users.add(email: "u\(index)@example.com", name: nil, role: "member", by: try await test.runtime.asOperator(in: "default")).id)
                let key = try await client.send(.post, "/v1/keys", key: writer, json: #"{"name": "k\#(index)", "scopes": ["tokens:read"]}"#)
                keys.insert(try key.decode(KeyResponse.self).id)
                let inbox = try await client.send(.post, "/v1/inboxes", key: writer, json: #"{"phone_number": "+1555000\#(1000 + index)", "provider": "simulator"}"#)
                inboxes.insert(try inbox.decode(InboxResponse.self).id)
                let endpoint = try await client.send(.post, "/v1/webhooks", key: writer, json: #"{"url": "http://127.0.0.1:9/h\#(index)", "topics": ["billing.subscription.canceled"]}"#)
                #expect(endpoint.status == .created, "\(endpoint.text)")
                endpoints.insert(try #require(try endpoint.object()["id"] as? String))
            }
            let first = try #require(inboxes.sorted().first)
            for index in 0..<60 {
                let sent = try await client.send(.post, "/v1/inboxes/\(first)/simulate", key: writer, json: #"{"from": "+15559990000", "body": "Code \#(100_000 + index)"}"#)
                messages.insert(try #require(try sent.object()["id"] as? String))
            }
            let hook = try #require(endpoints.sorted().first)
            var deliveries: Set<String> = []
            for _ in 0..<30 {
                let test = try await client.send(.post, "/v1/webhooks/\(hook)/test", key: writer)
                #expect(test.status == .accepted || test.status == .created || test.status == .ok, "\(test.text)")
                deliveries.insert(try #require(try test.object()["id"] as? String))
            }
            // Users, keys and endpoints made beside the test's own: the pages show those too.
            users.formUnion(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.map(\.id))
            let allKeys = try await client.send(.get, "/v1/keys?limit=200", key: writer).decode(ListResponse<KeyResponse>.self).data
            keys.formUnion(allKeys.map(\.id))

            let browser = Browser(client)
            try await DashboardTests.signIn(browser, "alice@example.com", clock: clock)
            for (start, pattern, expected, pageCount) in [
                ("/users", #"<tr><td><a href="/users/([^"]+)">"#, users, 2),
                ("/keys?all=1", #"<span class="muted">(key_[A-Za-z0-9]+) · "#, keys, 2),
                ("/inboxes", #"<tr><td><a href="/messages\?inbox=([^"]+)">"#, inboxes, 2),
                ("/webhooks", #"<tr><td><a href="/webhooks/([^"]+)">"#, endpoints, 2),
                ("/messages?inbox=\(first)", #"id="code-(sms_[^"]+)""#, messages, 2),
                ("/webhooks/\(hook)", #"<tr><td><code>([^<]+)</code>"#, deliveries, 2),
            ] {
                let (ids, pages) = try await Self.walk(browser, from: start, pattern)
                #expect(ids.count == expected.count && Set(ids) == expected, "\(start): \(ids.count) rows, \(Set(ids).count) distinct, \(expected.count) expected")
                #expect(pages == pageCount, "\(start): \(pages) pages")
            }
            // The messages of all inboxes page on too, and an older page does not wait for new messages.
            let older = try await Self.walk(browser, from: "/messages", #"id="code-(sms_[^"]+)""#)
            #expect(Set(older.ids) == messages && older.pages == 2)
            let second = try await browser.get("/messages?before=\(messages.sorted()[10])")
            #expect(!second.text.contains("data-after=") && second.text.contains("The newest"))
            // A cursor that is not an id is no cursor: the first page.
            let firstPage = try await browser.get("/users")
            let early = try await browser.get("/users?after=%3Cscript%3E")
            #expect(early.status == .ok && Self.ids(early.text, #"<tr><td><a href="/users/([^"]+)">"#) == Self.ids(firstPage.text, #"<tr><td><a href="/users/([^"]+)">"#))
            // Control characters in any part of a page's address are refused before they reach a query (SQLite and
            // PostgreSQL alike: PostgreSQL's text holds no NUL).
            for address in ["/users?after=%00%01", "/tokens?q=a%00b", "/messages?inbox=inb_%00", "/messages/wait?inbox=%0a", "/users/usr_%00", "/webhooks/x%0d%0ay",
                            "/tokens/aws%00/seed", "/keys?all=%00", "/inboxes?after=%7f"] {
                let refused = try await browser.get(address)
                #expect(refused.status == .badRequest && refused.text.contains("characters that no page uses"), "\(address): \(refused.status)")
            }
        }
    }
}
