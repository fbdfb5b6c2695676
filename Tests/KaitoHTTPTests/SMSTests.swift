import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import KaitoWorkers
import Logging
import NIOCore
import Testing

/// Inboxes, Twilio's signed callbacks (signatures computed by the `twilio` package), the simulator, message
/// reads and the long-poll (docs/api.md#sms).
@Suite("SMS inboxes (docs/api.md#sms)", .serialized)
struct SMSTests {
    static let accountSID = "AC" + String(repeating: "0123456789abcdef", count: 2)
    static let authToken = "f3c1a9e07b2d4c58a6e1f0b3d7c9e2a4"
    /// The public URL the test server is configured with, which Twilio would call.
    static let publicURL = "https://kaito.test"
    static let callbackURL = publicURL + "/providers/twilio/sms"

    func inbox(_ client: any TestClientProtocol, _ admin: String, number: String, provider: String = "twilio") async throws -> InboxResponse {
        let response = try await client.send(.post, "/v1/inboxes", key: admin, json: #"{"phone_number": "\#(number)", "label": "QA phone", "provider": "\#(provider)"}"#)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(InboxResponse.self)
    }

    func setCredentials(_ client: any TestClientProtocol, _ admin: String) async throws {
        let response = try await client.send(.put, "/v1/org/providers/twilio", key: admin, json: #"{"account_sid": "\#(Self.accountSID)", "auth_token": "\#(Self.authToken)"}"#)
        #expect(response.status == .ok, "\(response.text)")
    }

    static func inbound(to: String, from: String = "+15550009999", body: String, sid: String) -> [(String, String)] {
        [("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("Body", body), ("From", from), ("FromCountry", "US"),
         ("MessageSid", sid), ("NumMedia", "0"), ("NumSegments", "1"), ("SmsMessageSid", sid), ("SmsSid", sid),
         ("SmsStatus", "received"), ("To", to), ("ToCountry", "US")]
    }

    /// Posts Twilio's callback with `parameters` and `signature` (by default the `twilio` package's signature of them).
    func callback(
        _ client: any TestClientProtocol, _ parameters: [(String, String)], signature: String? = nil, path: String = "/providers/twilio/sms"
    ) async throws -> TestResponse {
        let signature = if let signature { signature } else {
            try await TestEnvironment.twilioSignature(url: Self.publicURL + path, parameters: parameters, authToken: Self.authToken)
        }
        return try await client.execute(
            uri: path, method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Twilio-Signature")!: signature],
            body: ByteBuffer(string: TestEnvironment.formBody(parameters))) { $0 }
    }

    func messages(_ client: any TestClientProtocol, _ key: String, query: String = "") async throws -> [SMSMessageResponse] {
        try await client.send(.get, "/v1/sms/messages" + query, key: key).decode(ListResponse<SMSMessageResponse>.self).data
    }

    @Test("A callback signed by the twilio package is stored once with its code; TwiML answers")
    func signedInbound() async throws {
        try await withSMSApp { test, client in
            try await setCredentials(client, test.adminKey)
            let number = "+15551234567"
            let box = try await inbox(client, test.adminKey, number: number)
            let reader = try await test.key([.smsRead])
            let parameters = Self.inbound(to: number, body: "Your code is 482913. Don't share it & don't reply +1 (555)", sid: "SM" + String(repeating: "a", count: 32))

            let response = try await callback(client, parameters)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/xml")
            #expect(response.text.contains("<Response></Response>"))
            // The same MessageSid again (Twilio retries): one message.
            #expect(try await callback(client, parameters).status == .ok)

            let stored = try await messages(client, reader)
            #expect(stored.count == 1)
            let message = try #require(stored.first)
            #expect(message.code == "482913")
            #expect(message.inboxID == box.id)
            #expect(message.to == number && message.from == "+15550009999")
            #expect(message.body == "Your code is 482913. Don't share it & don't reply +1 (555)")
            let one = try await client.send(.get, "/v1/sms/messages/\(message.id)", key: reader).decode(SMSMessageResponse.self)
            #expect(one == message)
        }
    }

    @Test("A flipped character, a missing or extra parameter, the wrong URL or another token: 403 and nothing stored")
    func forgedInbound() async throws {
        try await withSMSApp { test, client in
            try await setCredentials(client, test.adminKey)
            let number = "+15551234567"
            _ = try await inbox(client, test.adminKey, number: number)
            let reader = try await test.key([.smsRead])
            let parameters = Self.inbound(to: number, body: "Your code is 111222", sid: "SM" + String(repeating: "b", count: 32))
            let good = try await TestEnvironment.twilioSignature(url: Self.callbackURL, parameters: parameters, authToken: Self.authToken)

            var flipped = Array(good)
            flipped[3] = flipped[3] == "A" ? "B" : "A"
            let forgeries: [(String, [(String, String)], String)] = [
                ("flipped signature", parameters, String(flipped)),
                ("body changed", parameters.map { $0.0 == "Body" ? ($0.0, "Your code is 999999") : $0 }, good),
                ("parameter missing", parameters.filter { $0.0 != "FromCountry" }, good),
                ("parameter added", parameters + [("Extra", "1")], good),
                ("wrong URL", parameters, try await TestEnvironment.twilioSignature(url: "https://evil.test/providers/twilio/sms", parameters: parameters, authToken: Self.authToken)),
                ("another token", parameters, try await TestEnvironment.twilioSignature(url: Self.callbackURL, parameters: parameters, authToken: "0000000000000000ffffffffffffffff")),
                ("no signature", parameters, ""),
            ]
            for (name, sent, signature) in forgeries {
                let response = try await callback(client, sent, signature: signature)
                #expect(response.status == .forbidden, "\(name)")
                #expect(try response.problem().code == "invalid_signature", "\(name)")
            }
            #expect(try await messages(client, reader).isEmpty)

            // A number that is no inbox: 404, nothing stored.
            let unknown = Self.inbound(to: "+15550000000", body: "Your code is 333444", sid: "SM" + String(repeating: "c", count: 32))
            let response = try await callback(client, unknown)
            #expect(response.status == .notFound)
            #expect(try await messages(client, reader).isEmpty)
            // Not form-encoded: 400.
            let json = try await client.execute(uri: "/providers/twilio/sms", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")) { $0 }
            #expect(json.status == .badRequest)
        }
    }

    @Test("Credentials: the Auth Token is sealed, never returned, and not in the database file")
    func credentials() async throws {
        try await withSMSApp { test, client in
            let empty = try await client.send(.get, "/v1/org/providers/twilio", key: test.adminKey).decode(TwilioCredentialsResponse.self)
            #expect(empty.authTokenSet == false && empty.accountSID == nil)
            try await setCredentials(client, test.adminKey)
            let shown = try await client.send(.get, "/v1/org/providers/twilio", key: test.adminKey)
            #expect(try shown.decode(TwilioCredentialsResponse.self).accountSID == Self.accountSID)
            #expect(try shown.decode(TwilioCredentialsResponse.self).authTokenSet)
            #expect(!shown.text.contains(Self.authToken))
            let bad = try await client.send(.put, "/v1/org/providers/twilio", key: test.adminKey, json: #"{"account_sid": "AC123", "auth_token": "short"}"#)
            #expect(Set(try bad.problem().errors?.map(\.field) ?? []) == ["account_sid", "auth_token"])
            if case .sqlite = test.backend {
                let bytes = try test.directory.fileBytes()
                #expect(!bytes.isEmpty)
                #expect(bytes.firstRange(of: Array(Self.authToken.utf8)) == nil)
            }
            let auditor = try await test.key([.auditRead])
            let audit = try await client.send(.get, "/v1/audit?action=org.provider.update", key: auditor)
            #expect(audit.text.contains("org.provider.update") && !audit.text.contains(Self.authToken))
        }
    }

    @Test("Inboxes: a number belongs to one inbox on the server; labels change; another organisation sees nothing")
    func inboxes() async throws {
        try await withSMSApp { test, client in
            let box = try await inbox(client, test.adminKey, number: "+15551234567")
            #expect(box.provider == "twilio" && box.label == "QA phone")
            let (_, otherAdmin) = try await test.otherOrganization()
            let taken = try await client.send(.post, "/v1/inboxes", key: otherAdmin, json: #"{"phone_number": "+15551234567"}"#)
            #expect(taken.status == .conflict)
            #expect(try await client.send(.get, "/v1/inboxes/\(box.id)", key: otherAdmin).status == .notFound)
            #expect(try await client.send(.get, "/v1/inboxes", key: otherAdmin).decode(ListResponse<InboxResponse>.self).data.isEmpty)
            let reader = try await test.key([.smsRead])
            #expect(try await client.send(.get, "/v1/inboxes/\(box.id)", key: reader).status == .ok)
            #expect(try await client.send(.patch, "/v1/inboxes/\(box.id)", key: reader, json: #"{"label": "x"}"#).status == .forbidden)
            let renamed = try await client.send(.patch, "/v1/inboxes/\(box.id)", key: test.adminKey, json: #"{"label": "Release phone"}"#)
            #expect(try renamed.decode(InboxResponse.self).label == "Release phone")
            let fixed = try await client.send(.patch, "/v1/inboxes/\(box.id)", key: test.adminKey, json: #"{"phone_number": "+15550000001"}"#)
            #expect(fixed.status == .unprocessableContent)
            for bad in [#"{"phone_number": "5551234567"}"#, #"{"phone_number": "+0123456789"}"#, #"{"phone_number": "+1555", "provider": "nexmo"}"#] {
                #expect(try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: bad).status == .unprocessableContent, "\(bad)")
            }
            #expect(try await client.send(.delete, "/v1/inboxes/\(box.id)", key: test.adminKey).status == .noContent)
            #expect(try await client.send(.get, "/v1/inboxes/\(box.id)", key: test.adminKey).status == .notFound)
            // The number is free again.
            #expect(try await client.send(.post, "/v1/inboxes", key: otherAdmin, json: #"{"phone_number": "+15551234567"}"#).status == .created)
        }
    }

    @Test("The simulator delivers through the same path; filters; reads are audited; another organisation gets 404")
    func simulatorAndReads() async throws {
        try await withSMSApp { test, client in
            let simulated = try await inbox(client, test.adminKey, number: "+15552220000", provider: "simulator")
            let twilio = try await inbox(client, test.adminKey, number: "+15553330000")
            let refused = try await client.send(.post, "/v1/inboxes/\(twilio.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "x"}"#)
            #expect(refused.status == .unprocessableContent)
            for (from, body) in [("+15550001111", "G-123456 is your Google verification code."), ("+15550002222", "Your package is on its way"), ("+15550001111", "Your code is 654321")] {
                let created = try await client.send(.post, "/v1/inboxes/\(simulated.id)/simulate", key: test.adminKey, json: #"{"from": "\#(from)", "body": "\#(body)"}"#)
                #expect(created.status == .created)
                test.clock.advance(by: 1)
            }
            let reader = try await test.key([.smsRead])
            let all = try await messages(client, reader)
            #expect(all.map(\.code) == ["654321", nil, "123456"], "newest first")
            #expect(try await messages(client, reader, query: "?from=%2B15550001111").count == 2)
            #expect(try await messages(client, reader, query: "?inbox=\(twilio.id)").isEmpty)
            let page = try await client.send(.get, "/v1/sms/messages?limit=2", key: reader).decode(ListResponse<SMSMessageResponse>.self)
            let next = try #require(page.nextCursor)
            let rest = try await messages(client, reader, query: "?limit=2&cursor=\(next)")
            #expect(page.data.map(\.id) + rest.map(\.id) == all.map(\.id))
            #expect(try await client.send(.get, "/v1/sms/messages?since=yesterday", key: reader).status == .badRequest)

            let (_, otherAdmin) = try await test.otherOrganization()
            let outsider = try await test.key([.smsRead], in: try await test.runtime.organizations.find("other"))
            #expect(try await client.send(.get, "/v1/sms/messages/\(all[0].id)", key: outsider).status == .notFound)
            #expect(try await client.send(.get, "/v1/sms/messages?inbox=\(simulated.id)", key: outsider).status == .notFound)
            #expect(try await messages(client, outsider).isEmpty)
            #expect(try await client.send(.post, "/v1/inboxes/\(simulated.id)/simulate", key: otherAdmin, json: #"{"from": "+15550001111", "body": "x"}"#).status == .notFound)

            let auditor = try await test.key([.auditRead])
            let events = try await client.send(.get, "/v1/audit?action=sms.message.read", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(events.count >= 4)
            #expect(!events.contains { $0.target?.id.contains("654321") == true })
        }
    }

    @Test("The long-poll answers within moments of a message arriving, and 204 when the timeout passes")
    func longPoll() async throws {
        try await withSMSApp { test, client in
            let box = try await inbox(client, test.adminKey, number: "+15552220000", provider: "simulator")
            let reader = try await test.key([.smsRead])
            let started = ContinuousClock.now
            let timedOut = try await client.send(.get, "/v1/sms/messages/wait?inbox=\(box.id)&timeout=1", key: reader)
            #expect(timedOut.status == .noContent)
            #expect(ContinuousClock.now - started >= .seconds(1))

            let waitStarted = ContinuousClock.now
            async let waited = client.send(.get, "/v1/sms/messages/wait?inbox=\(box.id)&timeout=30", key: reader)
            try await waitUntil("the long-poll has read and waits") { test.runtime.storage.changes.waiterCount(topic: SMSService.topic(inboxID: box.id)) == 1 }
            let sent = try await client.send(.post, "/v1/inboxes/\(box.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "Your code is 482913"}"#)
            let response = try await waited
            let elapsed = ContinuousClock.now - waitStarted
            #expect(response.status == .ok)
            let message = try response.decode(SMSMessageResponse.self)
            #expect(message.id == (try sent.decode(SMSMessageResponse.self)).id)
            #expect(message.code == "482913")
            // Woken by the notification: a test server's periodic re-read is an hour away, so without it the poll
            // would have answered only at its 30-second timeout (with its last read).
            #expect(elapsed < .seconds(20), "\(elapsed)")

            // `after` a message: an older one is returned at once; after the newest, the poll waits.
            let second = try await client.send(.post, "/v1/inboxes/\(box.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "Your code is 111111"}"#).decode(SMSMessageResponse.self)
            let next = try await client.send(.get, "/v1/sms/messages/wait?inbox=\(box.id)&after=\(message.id)&timeout=5", key: reader).decode(SMSMessageResponse.self)
            #expect(next.id == second.id)
            #expect(try await client.send(.get, "/v1/sms/messages/wait?inbox=\(box.id)&after=\(second.id)&timeout=1", key: reader).status == .noContent)

            for bad in ["timeout=0", "timeout=61", "after=nope&timeout=1"] {
                #expect(try await client.send(.get, "/v1/sms/messages/wait?inbox=\(box.id)&\(bad)", key: reader).status == .unprocessableContent, "\(bad)")
            }
            #expect(try await client.send(.get, "/v1/sms/messages/wait?timeout=1", key: reader).status == .unprocessableContent)
            #expect(test.runtime.storage.changes.subscriberCount == 0, "every subscription ended")
        }
    }
}

extension SMSTests {
    static func statusCallback(sid: String, status: String, from: String, to: String) -> [(String, String)] {
        [("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("From", from), ("MessageSid", sid), ("MessageStatus", status),
         ("SmsSid", sid), ("SmsStatus", status), ("To", to)]
    }

    @Test("Sending: plan gating, Twilio's API (a fake that speaks its wire format), status callbacks out of order, failures")
    func sending() async throws {
        try await withSMSApp { test, client in
            let fake = try await FakeTwilio.start(accountSID: Self.accountSID, authToken: Self.authToken)
            defer { fake.stop() }
            var logger = Logger(label: "kaito-test")
            logger.logLevel = .warning
            let smsSender = SMSSender(sms: test.runtime.sms, logger: logger, twilioAPIBase: fake.baseURL, publicURL: Self.publicURL)
            try await setCredentials(client, test.adminKey)
            let hook = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/h", "topics": ["sms.delivery_status"]}"#).decode(WebhookResponse.self)
            let box = try await inbox(client, test.adminKey, number: "+15551234567")
            let sender = try await test.key([.smsSend])
            let send = #"{"from": "\#(box.id)", "to": "+15557654321", "body": "Deploy approved ✅"}"#

            let refused = try await client.send(.post, "/v1/sms/messages", key: sender, json: send)
            #expect(refused.status == .forbidden)
            #expect(try refused.problem().code == "plan_required")
            #expect(try await smsSender.sendDue() == 0)
            _ = try await test.runtime.billing.changePlan(to: Plan.business, by: try await test.runtime.asOperator(in: "default"))

            let queued = try await client.send(.post, "/v1/sms/messages", key: sender, json: send)
            #expect(queued.status == .accepted, "\(queued.text)")
            let message = try queued.decode(OutboundSMSResponse.self)
            #expect(message.status == "queued" && message.from == box.phoneNumber)
            #expect(try await smsSender.sendDue() == 1)
            #expect(try await smsSender.sendDue() == 0, "a message the provider accepted is not sent again")
            let requests = try fake.requests()
            #expect(requests.count == 1)
            let form = try #require(requests.first?["form"] as? [String: String])
            #expect(requests.first?["authorized"] as? Bool == true)
            #expect(form["To"] == "+15557654321" && form["From"] == "+15551234567" && form["Body"] == "Deploy approved ✅")
            #expect(form["StatusCallback"] == Self.publicURL + "/providers/twilio/status")
            let sid = try #require(requests.first?["sid"] as? String)

            // Callbacks out of order: delivered, then a late sent, which changes nothing.
            for status in ["delivered", "sent"] {
                let response = try await callback(client, Self.statusCallback(sid: sid, status: status, from: box.phoneNumber, to: "+15557654321"), path: "/providers/twilio/status")
                #expect(response.status == .noContent, "\(status): \(response.text)")
            }
            let reader = try await test.key([.smsRead])
            let shown = try await client.send(.get, "/v1/sms/outbound/\(message.id)", key: reader).decode(OutboundSMSResponse.self)
            #expect(shown.status == "delivered")
            let forged = try await callback(client, Self.statusCallback(sid: sid, status: "failed", from: box.phoneNumber, to: "+15557654321"), signature: "bm9wZQ==", path: "/providers/twilio/status")
            #expect(forged.status == .forbidden)
            let unknown = try await callback(client, Self.statusCallback(sid: "SM" + String(repeating: "0", count: 32), status: "sent", from: box.phoneNumber, to: "+15557654321"), path: "/providers/twilio/status")
            #expect(unknown.status == .notFound)
            #expect(try await client.send(.get, "/v1/sms/outbound/\(message.id)", key: reader).decode(OutboundSMSResponse.self).status == "delivered")

            // Twilio refuses a number: failed, with Twilio's error. A 500 is tried again after the delay.
            let invalid = try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "+15551234567", "to": "+15005550001", "body": "x"}"#).decode(OutboundSMSResponse.self)
            let flaky = try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "+15551234567", "to": "+15005550500", "body": "x"}"#).decode(OutboundSMSResponse.self)
            #expect(try await smsSender.sendDue() == 2)
            let failed = try await client.send(.get, "/v1/sms/outbound/\(invalid.id)", key: reader).decode(OutboundSMSResponse.self)
            #expect(failed.status == "failed")
            #expect(failed.error?.contains("21211") == true)
            let retrying = try await client.send(.get, "/v1/sms/outbound/\(flaky.id)", key: reader).decode(OutboundSMSResponse.self)
            #expect(retrying.status == "queued" && retrying.error?.contains("500") == true)
            #expect(try await smsSender.sendDue() == 0)
            test.clock.advance(by: 6)
            #expect(try await smsSender.sendDue() == 1)
            #expect(try fake.requests().count == 4)

            // A simulator inbox "sends" without a provider.
            let simulator = try await inbox(client, test.adminKey, number: "+15552220000", provider: "simulator")
            let simulated = try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "\#(simulator.id)", "to": "+15557654321", "body": "x"}"#).decode(OutboundSMSResponse.self)
            #expect(try await smsSender.sendDue() == 1)
            #expect(try await client.send(.get, "/v1/sms/outbound/\(simulated.id)", key: reader).decode(OutboundSMSResponse.self).status == "delivered")

            // Another organisation's key sees nothing; validation names the fields.
            let (other, _) = try await test.otherOrganization()
            let outsider = try await test.key([.smsSend, .smsRead], in: other)
            #expect(try await client.send(.get, "/v1/sms/outbound/\(message.id)", key: outsider).status == .notFound)
            let bad = try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "", "to": "555", "body": ""}"#)
            #expect(Set(try bad.problem().errors?.map(\.field) ?? []) == ["from", "to", "body"])
            #expect(try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "+15550000000", "to": "+15557654321", "body": "x"}"#).status == .notFound)

            // Every status change was queued as an sms.delivery_status webhook.
            let deliveries = try await client.send(.get, "/v1/webhooks/\(hook.id)/deliveries?limit=100", key: test.adminKey).decode(ListResponse<WebhookDeliveryResponse>.self).data
            #expect(deliveries.allSatisfy { $0.type == "sms.delivery_status" })
            // queued ×4, delivered (callback), failed (21211), delivered (simulator).
            #expect(deliveries.count == 7)
        }
    }
}

/// The application configured with `SMSTests.publicURL`, in process.
func withSMSApp(_ body: @Sendable @escaping (TestRuntime, any TestClientProtocol) async throws -> Void) async throws {
    try await withTestRuntime(clock: ManualClock()) { test in
        try await test.withApp(publicURL: SMSTests.publicURL) { client in try await body(test, client) }
    }
}
