import Foundation
import Testing
@testable import KaitoCore

/// What a hostile receiver or registrant can hand the webhook domain: `Retry-After` values, addresses, URLs and the
/// times they turn into. The HTTP side of the same attacks is in KaitoHTTPTests' suite of the same name.
@Suite("Hostile webhook input (pure)")
struct HostileWebhookInputTests {
    /// 2026-11-28T23:56:05Z, a Saturday.
    static let now = Date(timeIntervalSince1970: 1_795_910_165)

    @Test("Retry-After: delta-seconds and HTTP-dates are read, capped at 24 hours; everything else is ignored", arguments: [
        ("120", 120.0), ("0", 0), ("  5", 5), ("5\t", 5), ("0000000000000000000000005", 5), ("86400", 86_400), ("86401", 86_400),
        ("99999999999999999999999", RetryAfter.maximum), ("9223372036854775808", RetryAfter.maximum),
        ("Sat, 28 Nov 2026 23:58:05 GMT", 120), ("Saturday, 28-Nov-26 23:58:05 GMT", 120), ("Sat Nov 28 23:58:05 2026", 120),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0), ("Sunday, 06-Nov-94 08:49:37 GMT", 0), ("Sun Nov  6 08:49:37 1994", 0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RetryAfter.maximum),
    ] as [(String, TimeInterval)])
    func retryAfterRead(value: String, seconds: TimeInterval) {
        #expect(RetryAfter.parse(value, now: Self.now) == seconds, "\(value)")
    }

    @Test("Retry-After: numbers that are not delta-seconds, and garbage, are no Retry-After at all", arguments: [
        "1e20", "inf", "-inf", "infinity", "nan", "NaN", "-1", "-5", "+5", "", " ", "5.5", "1,5", "5 5", "0x10", "٥", "５",
        "Sat, 31 Feb 2026 00:00:00 GMT", "Sat, 28 Nov 2026 23:58:05 UTC", "Sat, 28 Nov 2026 25:00:00 GMT",
        "Sat, 28 Nov 26 23:58:05 GMT", "Xyz, 28 Nov 2026 23:58:05 GMT", "Sat, 28 Foo 2026 23:58:05 GMT", "2026-11-28T23:58:05Z",
        "Saturday, 28-Nov-2026 23:58:05 GMT", "Sat Nov 28 23:58:05 26", String(repeating: "9", count: 100), "120\r\nX-Evil: 1",
    ])
    func retryAfterIgnored(value: String) {
        #expect(RetryAfter.parse(value, now: Self.now) == nil, "\(value)")
    }

    @Test("The retry schedule takes at most 24 hours from a receiver, and never a non-finite delay", arguments: [
        1e20, .infinity, -.infinity, .nan, -5, Double.greatestFiniteMagnitude, 86_400 * 365,
    ])
    func retryScheduleCapped(retryAfter: TimeInterval) throws {
        let next = try #require(WebhookRetryPolicy.nextAttempt(after: 1, at: Self.now, retryAfter: retryAfter, jitter: 0))
        let delay = next.timeIntervalSince(Self.now)
        #expect(delay >= 5 && delay <= RetryAfter.maximum, "\(retryAfter) gave \(delay)")
    }

    /// Seconds since 1970 rather than dates: describing a non-finite `Date` traps in Foundation itself.
    @Test("Every time becomes storable Unix seconds without trapping", arguments: [
        (Date.distantFuture.timeIntervalSince1970, 64_092_211_200), (253_402_300_800, Timestamp.storableSeconds.upperBound),
        (Date.distantPast.timeIntervalSince1970, Timestamp.storableSeconds.lowerBound),
        (1e20, Timestamp.storableSeconds.upperBound), (-1e20, Timestamp.storableSeconds.lowerBound),
        (.infinity, Timestamp.storableSeconds.upperBound), (-.infinity, Timestamp.storableSeconds.lowerBound),
        (.nan, 0), (1_795_910_165.9, 1_795_910_165), (-0.5, -1),
    ] as [(TimeInterval, Int64)])
    func unixSeconds(since1970: TimeInterval, seconds: Int64) {
        let date = Date(timeIntervalSince1970: since1970)
        #expect(Timestamp.unixSeconds(date) == seconds)
        #expect(!Timestamp.format(date).isEmpty)
        _ = Identifier.make(prefix: "msg", at: date, random: SystemRandomSource())
        _ = TOTP.counter(at: date, period: 30)
    }
}

extension HostileWebhookInputTests {
    /// The first and the last address of every refused range.
    static let specialPurposeEnds: [(String, IPAddress)] = WebhookAddressPolicy.specialPurpose.flatMap { range in
        let last = IPAddress(bytes: zip(range.network.network.bytes, CIDR.mask([UInt8](repeating: 0xFF, count: 16), range.network.prefixLength))
            .map { network, mask in network | ~mask })
        return [(range.description, range.network.network), (range.description, last)]
    }

    @Test("Every range of the special-purpose table is refused, at both ends", arguments: specialPurposeEnds)
    func specialPurposeRefused(range: String, address: IPAddress) {
        #expect(WebhookAddressPolicy().refusal(for: address) != nil, "\(address) in \(range)")
    }

    @Test("The IPv6 forms that embed a refused IPv4 address, and the gaps the probe found, are refused", arguments: [
        "::127.0.0.1", "::a9fe:a9fe", "2002:7f00:1::", "2002:a9fe:a9fe::1", "64:ff9b:1::1", "64:ff9b:1:ffff::a00:1", "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2", "64:ff9b::127.0.0.1", "64:ff9b::169.254.169.254", "64:ff9b::10.0.0.1",
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:0:127.0.0.1", "fec0::1", "3fff::1", "5f00::1", "100::1",
    ])
    func embeddedRefused(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(WebhookAddressPolicy().refusal(for: address) != nil, "\(text)")
    }

    @Test("Public addresses are accepted, NAT64 of a public IPv4 address included", arguments: [
        "93.184.216.34", "8.8.8.8", "1.1.1.1", "192.0.1.1", "192.0.3.1", "198.17.255.255", "198.20.0.1", "223.255.255.255",
        "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",
        "2001:200::1", "2003::1",
    ])
    func publicAccepted(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(WebhookAddressPolicy().refusal(for: address) == nil, "\(text)")
    }

    @Test("An allowed range overrides the table for its addresses only, NAT64 forms of them included")
    func allowedOverride() throws {
        let policy = WebhookAddressPolicy(allowed: [try #require(CIDR("127.0.0.1/32"))])
        #expect(policy.refusal(for: try #require(IPAddress("127.0.0.1"))) == nil)
        #expect(policy.refusal(for: try #require(IPAddress("::ffff:127.0.0.1"))) == nil)
        #expect(policy.refusal(for: try #require(IPAddress("64:ff9b::127.0.0.1"))) == nil)
        #expect(policy.refusal(for: try #require(IPAddress("127.0.0.2"))) != nil)
        #expect(policy.refusal(for: try #require(IPAddress("::1"))) != nil)
    }

    @Test("A host with a zone id is refused before it is resolved", arguments: ["fe80::1%eth0", "[fe80::1%25eth0]", "example.com%lo"])
    func zoneIDRefused(host: String) async {
        await #expect(throws: KaitoError.self) {
            _ = try await WebhookAddressPolicy(allowed: [CIDR("::/0")!, CIDR("0.0.0.0/0")!]).check(host: host, resolver: SystemHostResolver())
        }
    }
}

extension HostileWebhookInputTests {
    @Test("Hostile URLs are refused, naming url", arguments: [
        "http://example.com/a\r\nX-Evil: 1", "http://example.com/a\nb", "http://example.com/a b", "http://example.com/\t",
        " http://example.com/", "http://example.com/ ", "http://example.com/\u{0}", "http://example.com/\u{7F}",
        "http://example.com/\u{85}", "http://example.com/\u{A0}", "http://example.com/\"x\"", "http://example.com/'x'",
        "http://example.com/<script>", "http://example.com/a\\b", "http://example.com\\@evil.com/", "http://example.com/`",
        "http://example.com/{x}", "http://example.com/a|b", "http://example.com/a^b", "http://exämple.com/", "http://example.com/ä",
        "http://user:pass@example.com/", "http://user@example.com/", "http://@example.com/", "http://example.com/#frag",
        "http://example.com/%", "http://example.com/%zz", "http://example.com/%4", "http://exa%6Dple.com/", "http://[fe80::1%25eth0]/",
        "http://[::1/", "http://[not-v6]/", "http://[::1]x/", "http://example.com/[x]", "http://example.com:0/", "http://example.com:65536/",
        "http://example.com:-1/", "http://example.com:/", "http://example.com:8o/", "http:///path", "http://", "https:example.com",
        "ftp://example.com/", "javascript://example.com/", "example.com/hook", "//example.com/", "",
        "http://" + String(repeating: "a", count: 2100) + ".com/", "http://exa+mple.com/", "http://example.com:80:80/",
    ])
    func hostileURL(text: String) {
        let error = #expect(throws: KaitoError.self) { try WebhookURL(text) }
        #expect(error?.code == .validationFailed)
        #expect(error?.fieldErrors.first?.field == "url", "\(text.debugDescription)")
    }

    @Test("Good URLs are stored normalised: scheme and host lowercased, default port dropped", arguments: [
        ("https://hooks.example.com/kaito", "https://hooks.example.com/kaito"),
        ("HTTPS://Hooks.Example.COM:443/Kaito?Topic=A&b=%2F", "https://hooks.example.com/Kaito?Topic=A&b=%2F"),
        ("http://Example.com:80", "http://example.com/"), ("http://example.com:8080/h", "http://example.com:8080/h"),
        ("https://example.com:80/h", "https://example.com:80/h"), ("http://example.com?x=1", "http://example.com/?x=1"),
        ("http://127.0.0.1:9/h", "http://127.0.0.1:9/h"), ("http://[2001:DB8::1]:443/h", "http://[2001:db8::1]:443/h"),
        ("https://xn--exmple-cua.com/a-b_c.d~e/!$&()*+,;=:@", "https://xn--exmple-cua.com/a-b_c.d~e/!$&()*+,;=:@"),
    ])
    func normalised(text: String, stored: String) throws {
        #expect(try WebhookURL(text).description == stored)
    }
}

/// A resolver with fixed answers.
struct FixedResolver: HostResolver {
    let answers: [String: [String]]
    func resolve(_ host: String) async throws -> [IPAddress] { (answers[host] ?? []).compactMap(IPAddress.init) }
}

extension HostileWebhookInputTests {
    @Test("Refusing a name does not tell what it resolves to (no DNS oracle for internal names); an address literal is explained")
    func noDNSOracle() async throws {
        let resolver = FixedResolver(answers: ["vm.internal": ["10.1.2.3"], "db.internal": ["127.0.0.1"], "meta": ["169.254.169.254"]])
        var messages: Set<String> = []
        for host in ["vm.internal", "db.internal", "meta", "absent.internal"] {
            do {
                _ = try await WebhookAddressPolicy().check(host: host, resolver: resolver)
                Issue.record("\(host) was accepted")
            } catch let error as KaitoError {
                let message = error.fieldErrors.map(\.message).joined() + error.detail
                messages.insert(message.replacingOccurrences(of: host, with: "HOST"))
                for leak in ["10.1.2.3", "127.0.0.1", "169.254", "private", "loopback", "link-local"] {
                    #expect(!message.contains(leak), "\(host): \(message)")
                }
            }
        }
        // A name that does not resolve gets the same answer as one that resolves somewhere refused.
        #expect(messages.count == 1, "\(messages)")
        await #expect(throws: KaitoError.self) { _ = try await WebhookAddressPolicy().check(host: "10.1.2.3", resolver: resolver) }
    }
}
