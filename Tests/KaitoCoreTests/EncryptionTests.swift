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
        let moved = DataKey(organizationID: "org_b", version: 1, keys: key.keys)
        #expect(throws: Envelope.Error.authenticationFailed) { try moved.openSeed(sealed, tokenID: "tok_1") }
        // A data key copied to another organisation's row does not unwrap.
        #expect(throws: Envelope.Error.authenticationFailed) { try DataKey.unwrap(wrapped, for: "org_b", master: master) }
    }

    @Test("Versions: version 1 seals as every release before versions did; later versions name themselves, authenticated")
    func versions() throws {
        let (first, wrappedFirst) = try DataKey.generate(for: "org_a", master: master)
        let (second, wrappedSecond) = try DataKey.generate(for: "org_a", version: 2, master: master)
        // Version 1: format 1, unchanged layout, so values sealed before versions existed open as before.
        let old = try first.sealSeed(seed, tokenID: "tok_1")
        #expect(old[0] == 1 && old.count == 1 + 12 + seed.count + 16)
        #expect(try Envelope.keyVersion(of: old) == 1)
        // Version 2: format 2 with the version big-endian after the format byte.
        let new = try second.sealSeed(seed, tokenID: "tok_1")
        #expect(Array(new.prefix(5)) == [2, 0, 0, 0, 2] && new.count == 5 + 12 + seed.count + 16)
        #expect(try Envelope.keyVersion(of: new) == 2)
        // A key holding both versions opens both and seals with the one it was made current.
        let both = try #require(try DataKey.unwrap([wrappedFirst, wrappedSecond], for: "org_a", master: master))
        #expect(both.version == 2)
        #expect(try both.openSeed(old, tokenID: "tok_1") == seed && both.openSeed(new, tokenID: "tok_1") == seed)
        #expect(try Envelope.keyVersion(of: both.sealSeed(seed, tokenID: "tok_1")) == 2)
        // Without the version that sealed it: a clear refusal, not garbage.
        #expect(first.canOpen(old) && !first.canOpen(new) && second.canOpen(new) && !second.canOpen(old))
        let missing = #expect(throws: KaitoError.self) { try first.openSeed(new, tokenID: "tok_1") }
        #expect(missing?.code == .unavailable && missing?.detail.contains("version 2") == true)
        // The header is authenticated: the version rewritten (here to one whose key opens nothing of it) fails.
        var relabelled = new
        relabelled[4] = 3
        let three = try #require(try DataKey.unwrap([wrappedSecond, try DataKey.generate(for: "org_a", version: 3, master: master).1], for: "org_a", master: master))
        #expect(throws: Envelope.Error.authenticationFailed) { try three.openSeed(relabelled, tokenID: "tok_1") }
        // Version 0 and 1 cannot be written in format 2; a truncated header is malformed.
        #expect(throws: Envelope.Error.malformed) { try Envelope.keyVersion(of: [2, 0, 0, 0, 1] + Array(new.dropFirst(5))) }
        #expect(throws: Envelope.Error.malformed) { try Envelope.keyVersion(of: Array(new.prefix(20))) }
        // Wrapped versions are bound to their number: version 2's wrapped key does not unwrap as version 3.
        var misnumbered = wrappedSecond
        misnumbered.version = 3
        #expect(throws: Envelope.Error.authenticationFailed) { try DataKey.unwrap(misnumbered, for: "org_a", master: master) }
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
