import Foundation
import Testing
@testable import KaitoCore

@Suite("Standard Webhooks signatures")
struct WebhookSignatureTests {
    @Test("The specification's published vector")
    func vector() throws {
        let secret = try #require(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let signature = secret.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(secret.verify(header: signature, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body))
        // Any of several signatures may match (during rotation).
        #expect(secret.verify(header: "v1,AAAA " + signature, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body))
        #expect(!secret.verify(header: signature, id: "msg_other", timestamp: 1_614_265_330, body: body))
        #expect(!secret.verify(header: signature, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_331, body: body))
        #expect(!secret.verify(header: "v2," + signature.dropFirst(3), id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body))
    }

    @Test("Generated secrets round-trip through their text and never print it")
    func generated() throws {
        let secret = WebhookSecret.generate(random: SystemRandomSource())
        #expect(secret.text.hasPrefix("whsec_"))
        #expect(WebhookSecret(secret.text) == secret)
        #expect("\(secret)" == "whsec_…")
        #expect(WebhookSecret("whsec_not base64") == nil)
    }

    @Test("A received delivery given as raw HTTP verifies under the specification's vector, within the tolerance")
    func receivedMessage() throws {
        let secret = try #require(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let other = WebhookSecret.generate(random: SystemRandomSource())
        let message = "POST /hook HTTP/1.1\r\nHost: bot.example\r\nWebhook-Id: msg_p5jXN8AQM9LWM0D4loKWxJek\r\n"
            + "webhook-timestamp: 1614265330\r\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n\r\n"
            + #"{"test": 2432232314}"#
        let received = try ReceivedWebhook(message: Array(message.utf8))
        #expect(received.id == "msg_p5jXN8AQM9LWM0D4loKWxJek")
        #expect(received.timestamp == 1_614_265_330)
        #expect(received.body == Array(#"{"test": 2432232314}"#.utf8))
        let signedAt = Date(timeIntervalSince1970: 1_614_265_330)
        #expect(received.verify(secrets: [secret], now: signedAt.addingTimeInterval(299), tolerance: 300).0 == .valid)
        #expect(received.verify(secrets: [other, secret], now: signedAt, tolerance: 300).0 == .valid)
        #expect(received.verify(secrets: [other], now: signedAt, tolerance: 300).0 == .badSignature)
        #expect(received.verify(secrets: [secret], now: signedAt.addingTimeInterval(301), tolerance: 300).0 == .outsideTolerance(seconds: 301))
        #expect(received.verify(secrets: [secret], now: signedAt.addingTimeInterval(-301), tolerance: 300).0 == .outsideTolerance(seconds: -301))

        // One trailing newline that a shell added is forgiven; any other change is not.
        let withNewline = try ReceivedWebhook(message: Array((message + "\n").utf8))
        let (verdict, body) = withNewline.verify(secrets: [secret], now: signedAt, tolerance: 300)
        #expect(verdict == .valid)
        #expect(body == Array(#"{"test": 2432232314}"#.utf8))
        let changed = try ReceivedWebhook(message: Array(message.replacingOccurrences(of: "2432232314", with: "2432232315").utf8))
        #expect(changed.verify(secrets: [secret], now: signedAt, tolerance: 300).0 == .badSignature)

        #expect(throws: KaitoError.self) { try ReceivedWebhook(message: Array("webhook-id: msg_1\n\n{}".utf8)) }
        #expect(throws: KaitoError.self) { try ReceivedWebhook(message: Array("no header here\n\n{}".utf8)) }
    }
}
