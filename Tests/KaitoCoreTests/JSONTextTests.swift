import Foundation
import KaitoCore
import Testing

@Suite("JSON text of webhook payloads")
struct JSONTextTests {
    @Test("Foundation's parser reads back exactly what was written, for awkward strings too")
    func roundTrip() throws {
        let awkward = ["", "plain", "quote \" backslash \\ slash /", "line\nfeed\r\ttab", "\u{0}\u{1}\u{1F}\u{7F}",
                       "émoji 🔐 中文", "\u{2028}\u{2029}", "</script>"]
        let value: [String: Any] = [
            "strings": awkward, "int": -42, "big": Int64(9_007_199_254_740_993), "double": 0.25, "true": true,
            "false": false, "null": NSNull(), "nested": ["z": [1, 2, ["a": NSNull()]], "a": "x"] as [String: Any],
        ]
        let text = JSONText.encode(value)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["strings"] as? [String] == awkward)
        #expect(parsed["int"] as? Int == -42 && parsed["big"] as? Int64 == 9_007_199_254_740_993 && parsed["double"] as? Double == 0.25)
        #expect(parsed["true"] as? Bool == true && parsed["false"] as? Bool == false && parsed["null"] is NSNull)
        #expect(((parsed["nested"] as? [String: Any])?["z"] as? [Any])?.count == 3)
        #expect(!text.contains("\\/"), "slashes are not escaped")
        #expect(text.contains(#""\u0000\u0001\u001f"#), "control characters as \\u escapes")
    }

    @Test("Keys are sorted, at every level, with no whitespace")
    func sortedKeys() {
        #expect(JSONText.encode(["b": 1, "a": ["d": true, "c": NSNull()] as [String: Any], "B": "x"]) == #"{"B":"x","a":{"c":null,"d":true},"b":1}"#)
        #expect(JSONText.encode([Any]()) == "[]" && JSONText.encode([String: Any]()) == "{}")
    }

    @Test("Hex is lowercase, two digits a byte")
    func hex() {
        #expect(JSONText.hexString([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }
}

@Suite("Audit canonical form")
struct AuditCanonicalFormTests {
    @Test("The hashed form of an event is fixed: name=length:value lines, '-' for an absent value, count only when not 1")
    func canonicalForm() {
        var event = AuditEvent(
            id: "evt_1", organizationID: "org_1", seq: 42, at: Date(timeIntervalSince1970: 1_800_000_000), actor: .init(type: "key", id: "key_1", name: nil),
            action: .tokenCodeRead, target: .init(type: "token", id: "aws-prod"), outcome: .success, reason: nil, ip: "10.0.0.1",
            userAgent: "ü", requestID: "", flagged: false, prevHash: "ab", hash: "")
        #expect(event.canonicalForm == """
            id=5:evt_1
            org_id=5:org_1
            seq=2:42
            at=20:2027-01-15T08:00:00Z
            actor.type=3:key
            actor.id=5:key_1
            actor.name=-
            action=15:token.code.read
            target.type=5:token
            target.id=8:aws-prod
            outcome=7:success
            reason=-
            ip=8:10.0.0.1
            user_agent=2:ü
            request_id=0:
            flagged=5:false
            prev_hash=2:ab
            """)
        event.count = 3
        #expect(event.canonicalForm.hasSuffix("\nprev_hash=2:ab\ncount=1:3"))
    }
}
