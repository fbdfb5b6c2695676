import Testing
@testable import KaitoCore

@Suite("Seed encryption: AES-256-GCM under a wrapped per-organisation data key")
struct EncryptionTests {
    let master = MasterKey.generate().key
    let seed: [UInt8] = Array("12345678901234567890".utf8)

    @Test("Round trip")
    func roundTrip() throws {
        let (key, wrapped) = try DataKey.generate(for: "org_a", master: master)
        let sealed = try key.sealSeed(seed, tokenID: "tok_1")
        #expect(sealed.count == 1 + 12 + seed.count + 16)
        #expect(!sealed.contains(subsequence: seed))
        #expect(try key.openSeed(sealed, tokenID: "tok_1") == seed)
        let unwrapped = try DataKey.unwrap(wrapped, for: "org_a", master: master)
        #expect(try unwrapped.openSeed(sealed, tokenID: "tok_1") == seed)
    }

    @Test("Every flipped bit is detected")
    func tamper() throws {
        let (key, _) = try DataKey.generate(for: "org_a", master: master)
        let sealed = try key.sealSeed(seed, tokenID: "tok_1")
        for index in sealed.indices {
            var altered = sealed
            altered[index] ^= 0x01
            #expect(throws: Envelope.Error.self) { try key.openSeed(altered, tokenID: "tok_1") }
        }
        #expect(throws: Envelope.Error.malformed) { try key.openSeed(Array(sealed.prefix(20)), tokenID: "tok_1") }
    }

    @Test("Ciphertext moved to another token or organisation fails to open")
    func swappedAssociatedData() throws {
        let (key, wrapped) = try DataKey.generate(for: "org_a", master: master)
        let sealed = try key.sealSeed(seed, tokenID: "tok_1")
        #expect(throws: Envelope.Error.authenticationFailed) { try key.openSeed(sealed, tokenID: "tok_2") }
        // The same key bytes under another organisation's binding.
        let moved = DataKey(key: key.key, organizationID: "org_b")
        #expect(throws: Envelope.Error.authenticationFailed) { try moved.openSeed(sealed, tokenID: "tok_1") }
        // A data key copied to another organisation's row does not unwrap.
        #expect(throws: Envelope.Error.authenticationFailed) { try DataKey.unwrap(wrapped, for: "org_b", master: master) }
    }

    @Test("A data key wrapped by another master key is refused with a clear error")
    func wrongMaster() throws {
        let (_, wrapped) = try DataKey.generate(for: "org_a", master: master)
        let other = MasterKey.generate().key
        let error = #expect(throws: KaitoError.self) { try DataKey.unwrap(wrapped, for: "org_a", master: other) }
        #expect(error?.code == .unavailable)
        #expect(error?.detail.contains(other.id) == true)
    }

    @Test("Master keys: 32 bytes of base64, nothing else")
    func masterKeyParsing() throws {
        let (key, base64) = MasterKey.generate()
        #expect(try MasterKey(base64: base64 + "\n").id == key.id)
        #expect(throws: MasterKey.Error.self) { try MasterKey(base64: "c2hvcnQ=") }
        #expect(throws: MasterKey.Error.self) { try MasterKey(base64: "not base64!") }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
