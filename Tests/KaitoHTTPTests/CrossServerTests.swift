import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import KaitoWorkers
import Logging
import Testing

/// Two servers (two runtimes with their own connection pools) on one PostgreSQL database.
@Suite("Cross-server guarantees on PostgreSQL", .enabled(if: TestDatabase.postgresAdminURL != nil))
struct CrossServerTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    /// The statuses of `count` requests, `request(index)` each, at most `concurrency` in flight at once.
    func statuses(
        _ count: Int, concurrency: Int = 16, _ request: @escaping @Sendable (Int) async throws -> TestResponse
    ) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var statuses: [Int] = []
            for index in 0..<count {
                if index >= concurrency { statuses.append(try await group.next()!) }
                group.addTask { Int(try await request(index).status.code) }
            }
            return try await group.reduce(into: statuses) { $0.append($1) }
        }
    }

    /// Runs `body` with clients of two servers sharing the test's database and clock.
    func withTwoServers(_ body: @Sendable @escaping (TestRuntime, any TestClientProtocol, any TestClientProtocol) async throws -> Void) async throws {
        try await withTestRuntime { test in
            let second = try await test.sibling()
            do {
                try await test.withApp { first in
                    try await test.withApp(runtime: second) { other in try await body(test, first, other) }
                }
                try await second.storage.close()
            } catch {
                try? await second.storage.close()
                throw error
            }
        }
    }

    @Test("A single-use key raced by 64 requests split across two servers succeeds exactly once")
    func singleUseRace() async throws {
        try await withTwoServers { test, one, two in
            let writer = try await test.key([.tokensWrite])
            _ = try await one.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "release", "secret": "\#(Self.secret)"}"#)
            let created = try await one.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "race", "scopes": ["tokens:code"], "single_use": true}"#)
            let secret = try #require(try created.decode(KeyResponse.self).key)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<64 {
                    let client = index.isMultiple(of: 2) ? one : two
                    group.addTask { Int(try await client.send(.get, "/v1/tokens/release/code", key: secret).status.code) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.allSatisfy { [200, 401, 429].contains($0) })
        }
    }

    @Test("A key revoked, narrowed or re-bound on one server is refused by the other's very next request, which held it in memory")
    func keyChangesReachTheOtherServer() async throws {
        try await withTwoServers { test, one, two in
            let writer = try await test.key([.tokensWrite])
            for slug in ["a", "b"] {
                _ = try await one.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#)
            }
            for (change, expected) in [
                (#"{"token_slugs": ["b"]}"#, "token_not_allowed"), (#"{"allowed_cidrs": ["203.0.113.0/24"]}"#, "ip_not_allowed"),
                ("revoke", "invalid_key"),
            ] {
                let created = try await one.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci", "scopes": ["tokens:code"]}"#)
                let key = try created.decode(KeyResponse.self)
                let secret = try #require(key.key)
                // Server two reads the key once, then answers from memory.
                for _ in 0..<3 { #expect(try await two.send(.get, "/v1/tokens/a/code", key: secret).status == .ok) }
                let changed = change == "revoke"
                    ? try await one.send(.delete, "/v1/keys/\(key.id)", key: test.adminKey)
                    : try await one.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: change)
                #expect([200, 204].contains(changed.status.code), "\(changed.text)")
                let refused = try await two.send(.get, "/v1/tokens/a/code", key: secret)
                #expect([401, 403].contains(refused.status.code), "\(change): \(refused.status)")
                #expect(try refused.problem().code == expected)
            }
        }
    }

    @Test("A write with a key revoked on the other server a moment ago is refused (checked in the write's own transaction)")
    func writesCheckTheKey() async throws {
        try await withTwoServers { test, one, two in
            let created = try await one.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "w", "scopes": ["tokens:write"]}"#)
            let key = try created.decode(KeyResponse.self)
            let secret = try #require(key.key)
            #expect(try await two.send(.post, "/v1/tokens", key: secret, json: #"{"slug": "before", "secret": "\#(Self.secret)"}"#).status == .created)
            #expect(try await one.send(.delete, "/v1/keys/\(key.id)", key: test.adminKey).status == .noContent)
            let refused = try await two.send(.post, "/v1/tokens", key: secret, json: #"{"slug": "after", "secret": "\#(Self.secret)"}"#)
            #expect(refused.status == .unauthorized, "\(refused.text)")
            #expect(try await one.send(.get, "/v1/tokens/after", key: test.key([.tokensRead])).status == .notFound)
        }
    }

    @Test("A key allowed 5,000 a minute, used through two servers at one instant: exactly 5,000 pass (leases never over-admit)")
    func leasedRateLimit() async throws {
        try await withTwoServers { test, one, two in
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let writer = try await test.key([.tokensWrite])
            _ = try await one.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let created = try await one.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "busy", "scopes": ["tokens:code"], "rate_limits": {"code": 5000}}"#)
            let key = try #require(try created.decode(KeyResponse.self).key)
            // The clock stands still: the bucket does not refill, so what passes is exactly what the servers took.
            let statuses = try await self.statuses(5_200) { index in
                try await (index.isMultiple(of: 2) ? one : two).send(.get, "/v1/tokens/s/code", key: key)
            }
            #expect(statuses.filter { $0 == 200 }.count <= 5_000)
            #expect(statuses.filter { $0 == 200 }.count >= 5_000 - 2 * 5, "at most a lease per server left unused")
            #expect(statuses.allSatisfy { [200, 429].contains($0) })
        }
    }

    @Test("70 code fetches alternating between two servers: exactly 60 pass")
    func sharedRateLimit() async throws {
        try await withTwoServers { test, one, two in
            let writer = try await test.key([.tokensWrite])
            _ = try await one.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let key = try await test.key([.tokensCode])
            var passed = 0
            var limited = 0
            for index in 0..<70 {
                let response = try await (index.isMultiple(of: 2) ? one : two).send(.get, "/v1/tokens/s/code", key: key)
                if response.status == .ok { passed += 1 }
                if response.status == .tooManyRequests { limited += 1 }
            }
            #expect(passed == 60)
            #expect(limited == 10)
        }
    }

    @Test("1,000 audited requests through two servers at once verify as one chain")
    func auditChainAcrossServers() async throws {
        try await withTwoServers { test, one, two in
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let writer = try await test.key([.tokensWrite])
            _ = try await one.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let created = try await one.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "busy", "scopes": ["tokens:code"], "rate_limits": {"code": 100000}}"#)
            let key = try #require(try created.decode(KeyResponse.self).key)
            let statuses = try await self.statuses(1000) { index in
                try await (index.isMultiple(of: 2) ? one : two).send(.get, "/v1/tokens/s/code", key: key)
            }
            #expect(statuses.filter { $0 == 200 }.count == 1000)
            let results = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            // org.create, token.create, key.create, plan change, 1,000 code reads.
            #expect(results.first?.result == .intact(events: 1004))
        }
    }

    @Test("Audited writes and code reads through two servers at once, each server's writes taking turns on the chain, verify as one chain")
    func auditedWritesAcrossServers() async throws {
        try await withTwoServers { test, one, two in
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let created = try await one.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "busy", "scopes": ["tokens:code", "tokens:write"], "rate_limits": {"code": 100000, "write": 100000}}"#)
            let key = try #require(try created.decode(KeyResponse.self).key)
            for index in 0..<8 {
                let made = try await one.send(.post, "/v1/tokens", key: key, json: #"{"slug": "t\#(index)", "secret": "\#(Self.secret)"}"#)
                #expect(made.status == .created)
            }
            let statuses = try await self.statuses(400, concurrency: 24) { index in
                let client = index.isMultiple(of: 2) ? one : two
                let slug = "t\((index / 2) % 8)"
                if index.isMultiple(of: 3) { return try await client.send(.get, "/v1/tokens/\(slug)/code", key: key) }
                return try await client.send(.patch, "/v1/tokens/\(slug)", key: key, json: #"{"name": "n\#(index)"}"#)
            }
            #expect(statuses.filter { $0 == 200 }.count == 400)
            let results = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            // org.create, plan change, key.create, 8 token.create, 400 reads and updates.
            #expect(results.first?.result == .intact(events: 411))
        }
    }

    @Test("Two servers' dispatchers racing over 48 deliveries send each exactly once")
    func dispatchersNeverSendTwice() async throws {
        try await withTestRuntime(clock: ManualClock(Date())) { test in
            let second = try await test.sibling()
            let receivers = Receivers()
            do {
                try await test.withApp { client in
                    let created = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/none", "topics": ["token.permission.changed"]}"#)
                    let hook = try created.decode(WebhookResponse.self)
                    let started = try await WebhookReceiver.start(secrets: [try #require(hook.secret)])
                    receivers.add(started)
                    _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(started.url)"}"#)
                    var queued: Set<String> = []
                    for _ in 0..<48 {
                        let delivery = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey).decode(WebhookDeliveryResponse.self)
                        queued.insert(delivery.id)
                    }
                    var logger = Logger(label: "kaito-test")
                    logger.logLevel = .warning
                    let dispatchers = [test.runtime, second].map { runtime in
                        WebhookDispatcher(
                            work: runtime.work, keyring: runtime.keyring, clock: test.clock, random: runtime.random,
                            policy: TestRuntime.testWebhookPolicy, resolver: runtime.resolver, logger: logger)
                    }
                    // Both claim in small batches at the same time until nothing is due.
                    let sent = try await withThrowingTaskGroup(of: Int.self) { group in
                        for dispatcher in dispatchers {
                            group.addTask {
                                var total = 0
                                while true {
                                    let count = try await dispatcher.dispatchDue()
                                    if count == 0 { return total }
                                    total += count
                                }
                            }
                        }
                        return try await group.reduce(into: [Int]()) { $0.append($1) }
                    }
                    #expect(sent.reduce(0, +) == 48)
                    let deliveries = try await started.waitForDeliveries(48)
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(try started.deliveries().count == 48, "no attempt sent twice")
                    #expect(Set(deliveries.map(\.id)) == queued)
                    #expect(deliveries.allSatisfy { $0.verified == [true] })
                }
                receivers.stopAll()
                try await second.storage.close()
            } catch {
                receivers.stopAll()
                try? await second.storage.close()
                throw error
            }
        }
    }

    @Test("A long-poll on one server is woken by a message that arrived through the other (LISTEN/NOTIFY)")
    func longPollAcrossServers() async throws {
        try await withTwoServers { test, one, two in
            let created = try await one.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15552220000", "provider": "simulator"}"#)
            let inbox = try created.decode(InboxResponse.self)
            let reader = try await test.key([.smsRead])
            let started = ContinuousClock.now
            async let waited = one.send(.get, "/v1/sms/messages/wait?inbox=\(inbox.id)&timeout=30", key: reader)
            try await waitUntil("the long-poll on the first server has read and waits") {
                test.runtime.storage.changes.waiterCount(topic: SMSService.topic(inboxID: inbox.id)) == 1
            }
            let sent = try await two.send(.post, "/v1/inboxes/\(inbox.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "Your code is 482913"}"#)
            #expect(sent.status == .created)
            let response = try await waited
            #expect(response.status == .ok)
            #expect(try response.decode(SMSMessageResponse.self).code == "482913")
            // Woken by the notification from the other server: a test server's periodic re-read is an hour away, so
            // without it the poll would have answered only at its 30-second timeout (with its last read).
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test("Two servers' SMS senders racing over 30 queued messages send each exactly once")
    func sendersNeverSendTwice() async throws {
        try await withTestRuntime(clock: ManualClock()) { test in
            let second = try await test.sibling()
            let fake = try await FakeTwilio.start(accountSID: SMSTests.accountSID, authToken: SMSTests.authToken)
            do {
                try await test.withApp { client in
                    _ = try await client.send(.put, "/v1/org/providers/twilio", key: test.adminKey, json: #"{"account_sid": "\#(SMSTests.accountSID)", "auth_token": "\#(SMSTests.authToken)"}"#)
                    let inbox = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15551234567"}"#).decode(InboxResponse.self)
                    _ = try await test.runtime.billing.changePlan(to: Plan.business, by: try await test.runtime.asOperator(in: "default"))
                    let sender = try await test.key([.smsSend])
                    var queued: Set<String> = []
                    for index in 0..<30 {
                        let sent = try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "\#(inbox.id)", "to": "+1555700\#(String(format: "%04d", index))", "body": "n\#(index)"}"#)
                        queued.insert(try sent.decode(OutboundSMSResponse.self).id)
                    }
                    var logger = Logger(label: "kaito-test")
                    logger.logLevel = .warning
                    let senders = [test.runtime, second].map { SMSSender(sms: $0.sms, logger: logger, twilioAPIBase: fake.baseURL, publicURL: nil) }
                    let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                        for sender in senders {
                            group.addTask {
                                var total = 0
                                while true {
                                    let count = try await sender.sendDue()
                                    if count == 0 { return total }
                                    total += count
                                }
                            }
                        }
                        return try await group.reduce(into: [Int]()) { $0.append($1) }
                    }
                    #expect(counts.reduce(0, +) == 30)
                    let requests = try fake.requests()
                    #expect(requests.count == 30, "each message sent once")
                    #expect(Set(requests.compactMap { ($0["form"] as? [String: String])?["To"] }).count == 30)
                }
                fake.stop()
                try await second.storage.close()
            } catch {
                fake.stop()
                try? await second.storage.close()
                throw error
            }
        }
    }
}
