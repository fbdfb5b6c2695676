import Testing
@testable import KaitoCore

@Suite("API key format: kto_live_, 30 base62 characters, base62 CRC32")
struct APIKeySecretTests {
    @Test("CRC32 (IEEE) check value and base62 encoding")
    func checksumPrimitives() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(Base62.encode(0, width: 6) == "000000")
        #expect(Base62.encode(61, width: 6) == "00000z")
        #expect(Base62.encode(62, width: 6) == "000010")
        #expect(Base62.encode(0xFFFF_FFFF, width: 6) == "4gfFC3")
    }

    @Test("Generated keys have the documented shape and a checksum an offline scanner can verify")
    func generated() throws {
        for _ in 0..<50 {
            let secret = APIKeySecret.generate()
            #expect(secret.value.count == 45)
            #expect(secret.value.hasPrefix("kto_live_"))
            let body = String(secret.value.dropFirst(9).prefix(30))
            let checksum = String(secret.value.suffix(6))
            #expect(Base62.encode(UInt64(CRC32.checksum(Array(body.utf8))), width: 6) == checksum)
            #expect(APIKeySecret(parsing: secret.value) == secret)
        }
    }

    @Test("A known key: the checksum is the CRC32 of the random part in base62")
    func knownKey() {
        let body = "0123456789abcdefghijABCDEFGHIJ"
        let crc = CRC32.checksum(Array(body.utf8))
        let key = "kto_live_" + body + Base62.encode(UInt64(crc), width: 6)
        #expect(APIKeySecret(parsing: key) != nil)
    }

    @Test("Malformed keys are refused before any lookup")
    func malformed() {
        let good = APIKeySecret.generate().value
        var flipped = Array(good)
        flipped[12] = flipped[12] == "a" ? "b" : "a"
        #expect(APIKeySecret(parsing: String(flipped)) == nil)
        #expect(APIKeySecret(parsing: good.replacingOccurrences(of: "kto_live_", with: "kto_test_")) == nil)
        #expect(APIKeySecret(parsing: String(good.dropLast())) == nil)
        #expect(APIKeySecret(parsing: good + "x") == nil)
        #expect(APIKeySecret(parsing: "") == nil)
        #expect(APIKeySecret(parsing: String(good.dropLast()) + "é") == nil)
    }

    @Test("The secret never appears in its description")
    func hidden() {
        let secret = APIKeySecret.generate()
        #expect(!"\(secret)".contains(secret.value.dropFirst(9)))
    }

    @Test("Stored hashes match only their key, under only their master key")
    func hashing() throws {
        let master = MasterKey.generate().key
        let hasher = APIKeyHasher(master: master)
        let secret = APIKeySecret.generate()
        let stored = hasher.hash(secret)
        #expect(stored.count == 32)
        #expect(hasher.matches(secret, stored: stored))
        #expect(!hasher.matches(APIKeySecret.generate(), stored: stored))
        #expect(!APIKeyHasher(master: MasterKey.generate().key).matches(secret, stored: stored))
    }
}
