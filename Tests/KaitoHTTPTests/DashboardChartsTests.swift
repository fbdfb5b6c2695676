import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// The tokens and keys pages chart each token's and each key's code fetches and denials of the last 24 hours
/// (server-rendered SVG from the audit log), and the keys page says what each key's limits leave it.
@Suite("Dashboard: 24 hours of fetches and denials")
struct DashboardChartsTests {
    typealias Browser = DashboardTests.Browser

    @Test("Fetches and denials per token and per key, hour by hour, only the last 24 hours; rate-limit standing per key; members see no chart")
    func charts() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            _ = try await DashboardTests.user(test, "kim@example.com", role: "member")
            let writer = try await test.key([.tokensWrite])
            for slug in ["aws-prod", "gcp-prod"] {
                #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            }
            let fetcher = try #require(try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "fetcher", "scopes": ["tokens:code"]}"#).decode(KeyResponse.self).key)
            let bound = try #require(try await client.send(.post, "/v1/keys", key: test.adminKey,
                                                           json: #"{"name": "bound", "scopes": ["tokens:code"], "token_slugs": ["gcp-prod"]}"#).decode(KeyResponse.self).key)
            // Two hours ago: an old fetch, still within the 24 hours; 30 hours ago nothing is counted.
            for _ in 0..<2 { #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: fetcher).status == .ok) }
            clock.advance(by: 2 * 3600)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: fetcher).status == .ok)
            for _ in 0..<2 { #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: bound).status == .forbidden) }
            // Repeated denials are folded into one event with a count, written within seconds: write them now.
            try await test.runtime.audit.flushFoldedDenials(all: true)

            let admin = Browser(client)
            let factor = try await DashboardTests.signIn(admin, "alice@example.com", clock: clock)
            let tokens = try await admin.get("/tokens")
            #expect(tokens.text.contains(#"aria-label="aws-prod: 3 code fetches, 2 denied in 24 h""#), "\(tokens.text.prefix(2000))")
            #expect(tokens.text.contains(#"aria-label="gcp-prod: 0 code fetches, 0 denied in 24 h""#))
            #expect(tokens.text.contains(#"<rect class="denied""#) && tokens.text.contains(#"<rect class="ok""#) && tokens.text.contains("<th class=\"optional\">Last 24 h</th>"))
            let keys = try await admin.get("/keys")
            #expect(keys.text.contains(#"aria-label="fetcher: 3 code fetches, 0 denied in 24 h""#) && keys.text.contains(#"aria-label="bound: 0 code fetches, 2 denied in 24 h""#))
            #expect(keys.text.contains("left this minute: code "), "\(keys.text.prefix(300))")

            // A day later the old fetches have left the chart; the page views of the dashboard itself count as fetches.
            clock.advance(by: 23 * 3600)
            let again = Browser(client)  // the first session has ended (12 hours at most)
            try await DashboardTests.signIn(again, "alice@example.com", clock: clock, secret: factor)
            let later = try await again.get("/tokens")
            #expect(later.text.contains(#"aria-label="aws-prod: 2 code fetches, 2 denied in 24 h""#), "the first two are older than 24 h; the page view of before counts")

            // A member (no audit:read) sees codes, no charts.
            let member = Browser(client)
            try await DashboardTests.signIn(member, "kim@example.com", clock: clock)
            #expect(!(try await member.get("/tokens").text.contains("svg class=\"spark\"")))
        }
    }
}
