import Foundation
import HummingbirdTesting
import KaitoAPIModels
@testable import KaitoCore
import KaitoTestSupport
import Testing

/// SMS bodies carry one-time codes: they are stored like seeds, sealed under the organisation's data key.
@Suite("SMS bodies at rest")
struct SMSAtRestTests {
    func inbox(_ client: any TestClientProtocol, _ admin: String, number: String) async throws -> InboxResponse {
        let response = try await client.send(.post, "/v1/inboxes", key: admin, json: #"{"phone_number": "\#(number)", "provider": "simulator"}"#)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(InboxResponse.self)
    }

    @Test("Inbound and outbound bodies, and the codes in them, are not in the SQLite files; the API reads them back")
    func notInDatabaseFile() async throws {
        try await withSMSApp { test, client in
            guard case .sqlite = test.backend else { return }
            let box = try await inbox(client, test.adminKey, number: "+15552220000")
            let code = String(SystemRandomSource().bytes(4).map { String($0 % 10) }.joined()) + "17"
            let inboundMarker = "inbound-" + SystemRandomSource().string(count: 16, alphabet: Array("abcdefghijklmnopqrstuvwxyz"))
            let outboundMarker = "outbound-" + SystemRandomSource().string(count: 16, alphabet: Array("abcdefghijklmnopqrstuvwxyz"))
            let simulated = try await client.send(
                .post, "/v1/inboxes/\(box.id)/simulate", key: test.adminKey,
                json: #"{"from": "+15550001111", "body": "Your code is \#(code) \#(inboundMarker)"}"#)
            #expect(simulated.status == .created, "\(simulated.text)")
            _ = try await test.runtime.billing.changePlan(to: Plan.business, by: try await test.runtime.asOperator(in: "default"))
            let sender = try await test.key([.smsSend, .smsRead])
            let sent = try await client.send(.post, "/v1/sms/messages", key: sender, json: #"{"from": "\#(box.id)", "to": "+15557654321", "body": "\#(outboundMarker)"}"#)
            #expect(sent.status == .accepted, "\(sent.text)")

            // The API opens them.
            let listed = try await client.send(.get, "/v1/sms/messages", key: sender).decode(ListResponse<SMSMessageResponse>.self).data
            #expect(listed.first?.body == "Your code is \(code) \(inboundMarker)")
            #expect(listed.first?.code == code)
            let one = try await client.send(.get, "/v1/sms/messages/\(try #require(listed.first?.id))", key: sender).decode(SMSMessageResponse.self)
            #expect(one.code == code)

            // The files do not hold them (positive control: the phone number is stored in clear).
            let bytes = try test.directory.fileBytes()
            #expect(bytes.contains(subsequence: Array("+15552220000".utf8)))
            for secret in [inboundMarker, outboundMarker, code] {
                #expect(!bytes.contains(subsequence: Array(secret.utf8)), "\(secret) found in the database files")
            }
        }
    }

    @Test("Bodies stored in plaintext by an earlier version are sealed at start; a data-key rotation re-encrypts sealed bodies")
    func legacyAndRotation() async throws {
        try await withSMSApp { test, client in
            let box = try await inbox(client, test.adminKey, number: "+15552220000")
            let org = test.organization.id
            try await test.execute("""
                INSERT INTO sms_messages (id, org_id, inbox_id, from_number, to_number, body, received_at, code, provider, provider_message_id)
                VALUES ('sms_00000000000000000000000001', '\(org)', '\(box.id)', '+15550001111', '+15552220000',
                        'Legacy code 482913', 0, '482913', 'simulator', 'SIMlegacy')
                """)
            #expect(try await test.runtime.sms.sealStoredPlaintext() == 1)
            #expect(try await test.runtime.sms.sealStoredPlaintext() == 0)
            let stored = try await test.runtime.storage.read { try await $0.sms.findMessage(id: "sms_00000000000000000000000001", organizationID: org) }
            #expect(stored?.body == "" && stored?.code == nil && stored?.sealedBody != nil)

            _ = try await client.send(.post, "/v1/inboxes/\(box.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "New code 551234"}"#)
            let result = try await test.runtime.organizations.rotateDataKey("default")
            #expect(result.reencrypted >= 2)
            let reader = try await test.key([.smsRead])
            let messages = try await client.send(.get, "/v1/sms/messages", key: reader).decode(ListResponse<SMSMessageResponse>.self).data
            #expect(Set(messages.compactMap(\.code)) == ["482913", "551234"])
            #expect(messages.contains { $0.body == "Legacy code 482913" })
            // Nothing sealed by the retired version is left.
            let sealed = try await test.runtime.storage.read { try await $0.dataKeys.sealedValues(.smsInboundBody, organizationID: org, after: nil, limit: 10, lock: false) }
            #expect(sealed.count == 2)
            #expect(try sealed.allSatisfy { try Envelope.keyVersion(of: $0.sealed) == result.version })
        }
    }

    @Test("A sealed body moved to another message's row does not open")
    func boundToMessage() async throws {
        try await withSMSApp { test, client in
            let box = try await inbox(client, test.adminKey, number: "+15552220000")
            for body in ["first 111111", "second 222222"] {
                _ = try await client.send(.post, "/v1/inboxes/\(box.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "\#(body)"}"#)
                test.clock.advance(by: 1)
            }
            let reader = try await test.key([.smsRead])
            let messages = try await client.send(.get, "/v1/sms/messages", key: reader).decode(ListResponse<SMSMessageResponse>.self).data
            #expect(messages.count == 2)
            try await test.execute("""
                UPDATE sms_messages SET sealed_body = (SELECT sealed_body FROM sms_messages WHERE id = '\(messages[0].id)') WHERE id = '\(messages[1].id)'
                """)
            let swapped = try await client.send(.get, "/v1/sms/messages/\(messages[1].id)", key: reader)
            #expect(swapped.status == .serviceUnavailable || swapped.status == .internalServerError, "\(swapped.text)")
            #expect(!swapped.text.contains("111111"))
        }
    }
}

extension SMSAtRestTests {
    @Test("An unsealed row (written outside the server) is refused, not served; old sms.inbound deliveries lose their body at start")
    func unsealedAndOldDeliveries() async throws {
        try await withSMSApp { test, client in
            let box = try await inbox(client, test.adminKey, number: "+15552220000")
            let org = test.organization.id
            let reader = try await test.key([.smsRead])
            try await test.execute("""
                INSERT INTO sms_messages (id, org_id, inbox_id, from_number, to_number, body, received_at, code, provider, provider_message_id)
                VALUES ('sms_00000000000000000000000009', '\(org)', '\(box.id)', '+15550001111', '+15552220000',
                        'Injected 111222', 0, '111222', 'simulator', 'SIMinjected')
                """)
            let injected = try await client.send(.get, "/v1/sms/messages/sms_00000000000000000000000009", key: reader)
            #expect(injected.status == .serviceUnavailable)
            #expect(!injected.text.contains("111222"))

            // A delivery queued by an earlier version with the body in its data.
            let hook = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/h", "topics": ["sms.inbound"]}"#).decode(WebhookResponse.self)
            try await test.execute("""
                INSERT INTO webhook_deliveries (id, org_id, endpoint_id, type, data, created_at, status, attempts, next_attempt_at)
                VALUES ('msg_00000000000000000000000009', '\(org)', '\(hook.id)', 'sms.inbound',
                        '{"body":"Old 333444","code":"333444","from":"+15550001111","id":"sms_00000000000000000000000009","inbox_id":"\(box.id)","received_at":"2026-01-01T00:00:00Z","to":"+15552220000"}',
                        0, 'pending', 0, 0)
                """)
            #expect(try await test.runtime.sms.sealStoredPlaintext() == 2)
            let deliveries = try await test.runtime.storage.read { session in
                try await session.webhooks.deliveries(endpointID: hook.id, organizationID: org, after: nil, limit: 10)
            }
            #expect(deliveries.count == 1)
            #expect(deliveries.allSatisfy { !$0.0.data.contains("333444") && $0.0.data.contains("sms_00000000000000000000000009") })
        }
    }
}
