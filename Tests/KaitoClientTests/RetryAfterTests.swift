import KaitoClient
import Testing

/// What the client waits on: a hostile or broken `Retry-After` can neither crash it nor make it retry hot.
@Suite("The client's reading of Retry-After")
struct RetryAfterTests {
    @Test("Whole seconds are waited on, at least one second and at most a day", arguments: [
        ("5", 5), ("0", 1), (" 30 ", 30), ("86400", 86_400), ("000012", 12),
    ])
    func accepted(text: String, seconds: Int) {
        #expect(KaitoClient.retryAfterSeconds(text) == seconds)
    }

    @Test("Anything else is not waited on", arguments: [
        "", "-1", "-9223372036854775808", "9223372036854775807", "99999999999999999999", "86401", "1.5", "1e3", "+5", "inf", "nan",
        "Wed, 21 Oct 2015 07:28:00 GMT", "5 s", "٣", "0x10",
    ])
    func refused(text: String) {
        #expect(KaitoClient.retryAfterSeconds(text) == nil)
    }
}
