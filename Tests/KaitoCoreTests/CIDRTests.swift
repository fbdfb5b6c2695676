import Testing
@testable import KaitoCore

@Suite("IP addresses and CIDRs")
struct CIDRTests {
    @Test("IPv4, IPv6 and IPv4-mapped addresses")
    func addresses() throws {
        let v4 = try #require(IPAddress("203.0.113.7"))
        #expect(v4.isIPv4 && v4.description == "203.0.113.7")
        #expect(IPAddress("::ffff:203.0.113.7") == v4)
        let v6 = try #require(IPAddress("2001:DB8::1"))
        #expect(!v6.isIPv4 && v6.description == "2001:db8::1")
        #expect(IPAddress("fe80::1%eth0") == IPAddress("fe80::1"))
        for bad in ["", "203.0.113", "203.0.113.256", "1.2.3.4.5", "::g", "localhost", "2001:db8::1::2", " "] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test("Networks contain what they should, across families")
    func containment() throws {
        let v4 = try #require(CIDR("203.0.113.0/24"))
        #expect(v4.contains(IPAddress("203.0.113.255")!))
        #expect(v4.contains(IPAddress("::ffff:203.0.113.9")!))
        #expect(!v4.contains(IPAddress("203.0.114.0")!))
        #expect(!v4.contains(IPAddress("2001:db8::1")!))
        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::1")!))
        #expect(!v6.contains(IPAddress("203.0.113.1")!))
        // The IPv4-mapped range written in IPv6 covers IPv4 clients.
        #expect(CIDR("::ffff:10.0.0.0/104")!.contains(IPAddress("10.1.2.3")!))
        #expect(CIDR("0.0.0.0/0")!.contains(IPAddress("198.51.100.1")!))
        #expect(!CIDR("0.0.0.0/0")!.contains(IPAddress("::1")!))
        #expect(CIDR("::/0")!.contains(IPAddress("::1")!))
        #expect(CIDR("10.0.0.1")!.description == "10.0.0.1/32")
        #expect(CIDR("10.0.0.1")!.contains(IPAddress("10.0.0.1")!))
        #expect(!CIDR("10.0.0.1")!.contains(IPAddress("10.0.0.2")!))
        #expect(CIDR("203.0.113.77/24")!.description == "203.0.113.0/24")
        #expect(CIDR("2001:db8:abcd::1/48")!.description == "2001:db8:abcd::/48")
        #expect(CIDR("10.0.0.0/9")!.contains(IPAddress("10.127.255.255")!))
        #expect(!CIDR("10.0.0.0/9")!.contains(IPAddress("10.128.0.0")!))
    }

    @Test("Bad CIDRs are refused, naming the entry")
    func invalid() {
        for bad in ["10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/", "/24", "10.0.0.0/2a", "a.b.c.d/8", "10.0.0.0/8/8"] {
            #expect(CIDR(bad) == nil, "\(bad)")
        }
        let error = #expect(throws: KaitoError.self) { try CIDR.parseList(["10.0.0.0/8", "nope"], field: "allowed_cidrs") }
        #expect(error?.fieldErrors.first?.field == "allowed_cidrs[1]")
    }
}

@Suite("GCRA")
struct GCRATests {
    @Test("60 per minute: 60 at once pass, the 61st waits 1 s, one more passes a second later")
    func burstThenRate() {
        let rule = GCRA(limit: 60)
        var tat: Int64?
        let now: Int64 = 1_000_000_000
        for index in 0..<60 {
            let decision = rule.decide(tat: tat, now: now)
            #expect(decision.allowed)
            #expect(decision.remaining == 59 - index)
            tat = decision.newTAT
        }
        let refused = rule.decide(tat: tat, now: now)
        #expect(!refused.allowed && refused.remaining == 0)
        #expect(RateLimitDecision.seconds(refused.retryAfter) == 1)
        #expect(RateLimitDecision.seconds(refused.resetAfter) == 60)
        #expect(!rule.decide(tat: tat, now: now + 999_999).allowed)
        let later = rule.decide(tat: tat, now: now + 1_000_000)
        #expect(later.allowed && later.remaining == 0)
        #expect(!rule.decide(tat: later.newTAT, now: now + 1_000_000).allowed)
        // After a quiet minute the burst is back.
        #expect(rule.peek(tat: later.newTAT, now: now + 61_000_000).remaining == 60)
    }

    @Test("Retry-After is rounded up, never early")
    func roundUp() {
        #expect(RateLimitDecision.seconds(1) == 1)
        #expect(RateLimitDecision.seconds(1_000_000) == 1)
        #expect(RateLimitDecision.seconds(1_000_001) == 2)
        #expect(RateLimitDecision.seconds(0) == 0)
    }

    @Test("A client for connection limits: an IPv4 address itself, an IPv6 address's /64")
    func clientGroups() throws {
        #expect(try #require(IPAddress("203.0.113.7")).clientGroup == IPAddress("203.0.113.7"))
        #expect(try #require(IPAddress("2001:db8:1:2:aaaa::1")).clientGroup == IPAddress("2001:db8:1:2::"))
        #expect(try #require(IPAddress("2001:db8:1:2:ffff:ffff:ffff:ffff")).clientGroup == IPAddress("2001:db8:1:2::"))
        #expect(try #require(IPAddress("2001:db8:1:3::1")).clientGroup != IPAddress("2001:db8:1:2::"))
    }
}
