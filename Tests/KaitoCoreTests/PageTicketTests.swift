import Foundation
import KaitoCore
import Testing

/// What the dashboard hands the browser to carry: a page view's ticket (HMAC) and a flash sealed across a redirect
/// (AES-GCM). Each holds only for its session, its contents and its time, under its server's master key.
@Suite("Dashboard page tickets and flashes")
struct PageTicketTests {
    static let master = try! MasterKey(bytes: Array(repeating: 7, count: 32))
    static let other = try! MasterKey(bytes: Array(repeating: 8, count: 32))
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("A ticket admits exactly its session's slugs (in any order), until it expires, under its own key only")
    func ticket() {
        let tickets = PageViewTicket(master: Self.master)
        let ticket = tickets.issue(sessionID: "ses_1", slugs: ["b", "a"], at: Self.now)
        #expect(tickets.admits(ticket, sessionID: "ses_1", slugs: ["a", "b"], at: Self.now))
        #expect(tickets.admits(ticket, sessionID: "ses_1", slugs: ["b", "a", "a"], at: Self.now.addingTimeInterval(3600)))
        #expect(!tickets.admits(ticket, sessionID: "ses_2", slugs: ["a", "b"], at: Self.now), "another session")
        #expect(!tickets.admits(ticket, sessionID: "ses_1", slugs: ["a"], at: Self.now), "fewer slugs")
        #expect(!tickets.admits(ticket, sessionID: "ses_1", slugs: ["a", "b", "c"], at: Self.now), "more slugs")
        #expect(!tickets.admits(ticket, sessionID: "ses_1", slugs: ["a\nb"], at: Self.now), "a separator inside a slug")
        #expect(!tickets.admits(ticket, sessionID: "ses_1", slugs: ["a", "b"], at: Self.now.addingTimeInterval(13 * 3600)), "expired")
        #expect(!PageViewTicket(master: Self.other).admits(ticket, sessionID: "ses_1", slugs: ["a", "b"], at: Self.now), "another key")
        let signature = ticket.split(separator: ".")[1]
        #expect(!tickets.admits("9999999999.\(signature)", sessionID: "ses_1", slugs: ["a", "b"], at: Self.now), "a longer expiry")
        #expect(!tickets.admits("", sessionID: "ses_1", slugs: [], at: Self.now) && !tickets.admits("x.y", sessionID: "ses_1", slugs: [], at: Self.now))
    }

    @Test("A flash opens for its session and purpose only, within two minutes, untouched, under its own key only")
    func flash() throws {
        let flashes = PageFlash(master: Self.master)
        let sealed = try flashes.seal("kto_live_secret", sessionID: "ses_1", at: Self.now)
        #expect(!sealed.contains("kto_live_secret"))
        #expect(flashes.open(sealed, sessionID: "ses_1", at: Self.now.addingTimeInterval(119)) == "kto_live_secret")
        #expect(flashes.open(sealed, sessionID: "ses_2", at: Self.now) == nil, "another session")
        #expect(flashes.open(sealed, sessionID: "ses_1", at: Self.now.addingTimeInterval(121)) == nil, "expired")
        #expect(PageFlash(master: Self.other).open(sealed, sessionID: "ses_1", at: Self.now) == nil, "another key")
        var tampered = Array(sealed)
        tampered[20] = tampered[20] == "A" ? "B" : "A"
        #expect(flashes.open(String(tampered), sessionID: "ses_1", at: Self.now) == nil, "altered")
        #expect(flashes.open("not base64!", sessionID: "ses_1", at: Self.now) == nil)
        #expect(try flashes.seal("kto_live_secret", sessionID: "ses_1", at: Self.now) != sealed, "a fresh nonce each time")
        let notice = try flashes.seal("Endpoint enabled.", as: .notice, sessionID: "ses_1", at: Self.now)
        #expect(flashes.open(notice, as: .notice, sessionID: "ses_1", at: Self.now) == "Endpoint enabled.")
        #expect(flashes.open(notice, as: .secret, sessionID: "ses_1", at: Self.now) == nil && flashes.open(sealed, as: .notice, sessionID: "ses_1", at: Self.now) == nil,
                "a notice never opens as a secret, nor a secret as a notice")
    }
}
