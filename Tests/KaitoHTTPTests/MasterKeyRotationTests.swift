import Foundation
import KaitoCore
import KaitoHTTP
import KaitoStorage
import KaitoTestSupport
import Testing

/// `Keyring.rotateMasterKey` (`kaito admin rotate-master-key`) on SQLite and PostgreSQL.
@Suite("Master-key rotation")
struct MasterKeyRotationTests {
    @Test("After a rotation only the new key opens anything; the old one is refused at start; keys and codes are unchanged")
    func rotation() async throws {
        try await withTestRuntime { test in
            let (other, _) = try await test.otherOrganization()
            var callers: [Caller] = []
            var secrets: [String] = []
            var codes: [String] = []
            for (organization, seed) in [(test.organization, "JBSWY3DPEHPK3PXP"), (other, "KRSXG5CTMVRXEZLU")] {
                let secret = try await test.key([.tokensWrite, .tokensCode], in: organization)
                let caller = try await test.runtime.keys.authenticate(authorization: "Bearer " + secret)
                _ = try await test.runtime.tokens.create(TokenDraft(slug: "aws-prod", secret: seed), by: caller)
                callers.append(caller)
                secrets.append(secret)
                codes.append(try await test.runtime.tokens.code(slug: "aws-prod", minValid: nil, by: caller).code)
            }
            let old = test.runtime.keyring.master
            let new = MasterKey.generate().key
            let storage = test.runtime.storage

            let rewrapped = try await Keyring.rotateMasterKey(from: old, to: new, storage: storage)
            #expect(rewrapped == 2)

            // Every data key now opens with the new key alone.
            let all = try await storage.write { try await $0.dataKeys.lockAll() }
            #expect(all.count == 2)
            for (organizationID, wrapped) in all {
                #expect(wrapped.masterKeyID == new.id)
                #expect(throws: (any Error).self) { try DataKey.unwrap(wrapped, for: organizationID, master: old) }
                #expect(throws: Never.self) { try DataKey.unwrap(wrapped, for: organizationID, master: new) }
            }
            // A server starting with the old key refuses, naming both keys; with the new key it starts.
            let refusal = await #expect(throws: Keyring.Error.self) { try await Keyring.open(master: old, storage: storage) }
            #expect(refusal == .wrongMasterKey(current: new.id, given: old.id))
            #expect(refusal.map { "\($0)" }?.contains("rotated") == true)
            let keyring = try await Keyring.open(master: new, storage: storage)
            let restarted = Runtime(storage: storage, keyring: keyring, clock: test.clock)
            for (index, caller) in callers.enumerated() {
                // The same API key still authenticates (its hash key survived), and the seed opens to the same code.
                let again = try await restarted.keys.authenticate(authorization: "Bearer " + secrets[index])
                #expect(again.key.organizationID == caller.key.organizationID)
                #expect(try await restarted.tokens.code(slug: "aws-prod", minValid: nil, by: caller).code == codes[index])
            }

            // The server still running with the old key serves from the data keys it holds, but wraps nothing new.
            #expect(try await test.runtime.tokens.code(slug: "aws-prod", minValid: nil, by: callers[0]).code == codes[0])
            let creation = await #expect(throws: KaitoError.self) { _ = try await test.runtime.organizations.create(name: "after-rotation", createdBy: "operator") }
            #expect(creation?.code == .unavailable)
            #expect(try await restarted.organizations.create(name: "after-rotation", createdBy: "operator").0.name == "after-rotation")
            // Rotating from the old key again is refused; from the current key to itself changes nothing.
            await #expect(throws: Keyring.Error.self) { _ = try await Keyring.rotateMasterKey(from: old, to: new, storage: storage) }
            #expect(try await Keyring.rotateMasterKey(from: new, to: new, storage: storage) == 0)
        }
    }
}
