import Testing
@testable import KaitoCore

@Suite("Base32, strict on output, lenient on input")
struct Base32Tests {
    /// RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("f", "MY======"), ("fo", "MZXQ===="), ("foo", "MZXW6==="), ("foob", "MZXW6YQ="),
        ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI======"),
    ]

    @Test("RFC 4648 vectors decode, with and without padding", arguments: vectors)
    func rfcVectors(vector: (String, String)) throws {
        #expect(try Base32.decode(vector.1) == Array(vector.0.utf8))
        #expect(try Base32.decode(vector.1.replacingOccurrences(of: "=", with: "")) == Array(vector.0.utf8))
        #expect(Base32.encode(Array(vector.0.utf8)) == vector.1.replacingOccurrences(of: "=", with: ""))
    }

    @Test("Secrets are accepted as people paste them")
    func lenient() throws {
        let canonical = try Base32.decode("JBSWY3DPEHPK3PXP")
        #expect(try Base32.decode("jbswy3dpehpk3pxp") == canonical)
        #expect(try Base32.decode("jbsw y3dp ehpk 3pxp") == canonical)
        #expect(try Base32.decode("JBSW-Y3DP-EHPK-3PXP") == canonical)
        #expect(try Base32.decode("JBSWY3DPEHPK3PXP====") == canonical)
    }

    @Test("Bad input is refused with the position, never the character")
    func invalid() {
        #expect(throws: Base32.DecodingError.invalidCharacter("1", position: 3)) { try Base32.decode("JBS1Y3DP") }
        #expect(throws: Base32.DecodingError.invalidCharacter("8", position: 0)) { try Base32.decode("8BSWY3DP") }
        #expect(throws: Base32.DecodingError.empty) { try Base32.decode("  ") }
        #expect(throws: Base32.DecodingError.invalidLength) { try Base32.decode("A") }
        #expect(throws: Base32.DecodingError.invalidCharacter("A", position: 3)) { try Base32.decode("MY=A") }
        #expect(!Base32.DecodingError.invalidCharacter("!", position: 2).description.contains("!"))
    }

    @Test("Round trip of every length up to 40 bytes")
    func roundTrip() throws {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + 11) % 256) }
            if length == 0 { continue }
            #expect(try Base32.decode(Base32.encode(bytes)) == bytes)
        }
    }
}
