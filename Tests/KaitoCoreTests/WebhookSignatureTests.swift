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
}
