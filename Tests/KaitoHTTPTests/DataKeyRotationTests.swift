import Foundation
@testable import KaitoCore
import KaitoHTTP
import KaitoTestSupport
@testable import KaitoWorkers
import Logging
import Testing
import NIOConcurrencyHelpers

/// `kaito admin rotate-data-key` (`OrganizationService.rotateDataKey`) on SQLite and PostgreSQL.
@Suite("Data-key rotation", .serialized)
struct DataKeyRotationTests {
    static let seeds = ["JBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLU", "GEZDGNBVGY3TQOJQ", "MFRGGZDFMZTWQ2LK", "ONSWG4TFOQYTEMZU"]

    /// Every value the organisation's data key sealed, as stored.
    static func sealedValues(_ test: TestRuntime, _ organizationID: String) async throws -> [SealedValue] {
        try await test.runtime.storage.read { session in
            var all: [SealedValue] = []
            for kind in SealedValue.Kind.allCases {
                all += try await session.dataKeys.sealedValues(kind, organizationID: organizationID, after: nil, limit: 1000, lock: false)
            }
            return all
        }
    }

    static func versions(_ test: TestRuntime, _ organizationID: String) async throws -> [DataKey.Wrapped] {
        try await test.runtime.storage.read { try await $0.dataKeys.versions(organizationID: organizationID) }
    }

    @Test("Rotation under load re-encrypts every seed and secret with a new version and deletes the old one; codes, webhook signatures and provider credentials are unchanged")
    func rotateUnderLoad() async throws {
        try await withTestRuntime(clock: ManualClock(Date())) { test in
            let runtime = test.runtime
            let organizationID = test.organization.id
            let caller = try await runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite, .tokensCode, .tokensSeed, .orgAdmin])))
            for (index, seed) in Self.seeds.enumerated() {
                _ = try await runtime.tokens.create(TokenDraft(slug: "token-\(index)", secret: seed), by: caller)
            }
            let (endpoint, firstSecret) = try await runtime.webhooks.create(.init(url: "http://127.0.0.1:9/hook", topics: ["audit.event"]), by: caller)
            let (_, currentSecret) = try await runtime.webhooks.rotateSecret(id: endpoint.id, by: caller)
            _ = try await runtime.sms.setTwilioCredentials(accountSID: "AC" + String(repeating: "0", count: 32), authToken: "twilio-auth-token-0123", by: caller)
            // Another organisation's key and values are not touched.
            let (other, otherAdmin) = try await test.otherOrganization()
            let otherCaller = try await runtime.keys.authenticate(authorization: "Bearer " + otherAdmin)
            _ = try await runtime.tokens.create(TokenDraft(slug: "aws-prod", secret: Self.seeds[0]), by: otherCaller)
            let otherBefore = try await Self.sealedValues(test, other.id)

            let codes = try await Self.codes(runtime, caller)
            let before = try await Self.sealedValues(test, organizationID)
            #expect(before.count == Self.seeds.count + 3)
            #expect(try before.allSatisfy { try Envelope.keyVersion(of: $0.sealed) == 1 })
            let first = try #require(try await Self.versions(test, organizationID).first)
            let oldKey = try DataKey.unwrap(first, for: organizationID, master: runtime.keyring.master)

            // Codes read and tokens created (sealed) all through the rotation, on the server's keyring, whose cache
            // holds version 1 when the rotation starts.
            // Stopped by a flag, not by cancelling: a cancelled task's storage call fails with CancellationError.
            let running = NIOLockedValueBox(true)
            let rounds = NIOLockedValueBox(0)
            let load = Task {
                var created: [String] = []
                var failures: [String] = []
                var round = 0
                while running.withLockedValue({ $0 }) {
                    do {
                        #expect(try await runtime.tokens.code(slug: "token-\(round % Self.seeds.count)", minValid: nil, by: caller).code == codes[round % Self.seeds.count])
                        let slug = "load-\(round)"
                        _ = try await runtime.tokens.create(TokenDraft(slug: slug, secret: Self.seeds[round % Self.seeds.count]), by: caller)
                        created.append(slug)
                    } catch {
                        failures.append("\(error)")
                    }
                    round += 1
                    rounds.withLockedValue { $0 = round }
                    await Task.yield()
                }
                return (created, failures)
            }
            // The operator's process: its own runtime (keyring) on the same database, batches of two values.
            let operatorRuntime = Runtime(storage: runtime.storage, keyring: Keyring(master: runtime.keyring.master), clock: test.clock)
            // The load runs before, during and after the rotation.
            try await waitUntil("the load has run") { rounds.withLockedValue { $0 } >= 3 }
            let result = try await operatorRuntime.organizations.rotateDataKey(organizationID, batchSize: 2)
            let atEnd = rounds.withLockedValue { $0 }
            try await waitUntil("the load has run after the rotation") { rounds.withLockedValue { $0 } >= atEnd + 3 }
            running.withLockedValue { $0 = false }
            let (created, failures) = await load.value
            #expect(failures.isEmpty, "\(failures)")
            #expect(!created.isEmpty)
            #expect(result.version == 2 && result.retiredVersionsDeleted == 1)
            #expect(result.reencrypted >= before.count, "\(result)")

            // Only version 2 is stored; every value is sealed by it, the old key opens none of them.
            let stored = try await Self.versions(test, organizationID)
            #expect(stored.map(\.version) == [2])
            let after = try await Self.sealedValues(test, organizationID)
            #expect(after.count == before.count + created.count)
            for value in after {
                #expect(try Envelope.keyVersion(of: value.sealed) == 2, "\(value.kind) \(value.recordID)")
                #expect(throws: (any Error).self) { try DataKeyRotation.open(value, with: oldKey) }
            }
            #expect(Set(after.map(\.recordID)).isSuperset(of: before.map(\.recordID)))
            #expect(try await Self.sealedValues(test, other.id) == otherBefore)
            #expect(try await Self.versions(test, other.id).map(\.version) == [1])

            // A server started now (nothing cached) and the one that served through it give the same codes, also for
            // the tokens created during the rotation; the webhook signs with both secrets; the provider token opens.
            let restarted = Runtime(storage: runtime.storage, keyring: try await Keyring.open(master: runtime.keyring.master, storage: runtime.storage), clock: test.clock)
            #expect(try await Self.codes(restarted, caller) == codes)
            #expect(try await Self.codes(runtime, caller) == codes)
            for slug in created.prefix(10) {
                #expect(try await restarted.tokens.code(slug: slug, minValid: nil, by: caller).code.count == 6)
            }
            var logger = Logger(label: "kaito-test")
            logger.logLevel = .warning
            let dispatcher = WebhookDispatcher(
                work: restarted.work, keyring: restarted.keyring, clock: test.clock, random: restarted.random,
                policy: restarted.webhookPolicy, resolver: restarted.resolver, logger: logger)
            let reloaded = try #require(try await restarted.storage.read { try await $0.webhooks.find(id: endpoint.id, organizationID: organizationID) })
            #expect(try await dispatcher.signingSecrets(reloaded) == [currentSecret, firstSecret])
            let provider = try #require(after.first { $0.kind == .providerSecret })
            let newKey = try #require(try DataKey.unwrap(stored, for: organizationID, master: runtime.keyring.master))
            #expect(try String(decoding: DataKeyRotation.open(provider, with: newKey), as: UTF8.self) == "twilio-auth-token-0123")

            // Audited in the organisation's chain, which still verifies; a second rotation goes on to version 3.
            let events = try await runtime.audit.list(by: caller, filter: AuditFilter(action: "org.data_key.rotate"), beforeSeq: nil, limit: 10).items
            #expect(events.count == 1 && events.first?.reason == "v2" && events.first?.actor.id == "operator")
            let verdict = try #require(try await runtime.audit.verify(organizationIDs: [organizationID]).first?.result)
            guard case .intact = verdict else { Issue.record("audit chain: \(verdict)"); return }
            #expect(try await operatorRuntime.organizations.rotateDataKey(test.organization.name).version == 3)
            #expect(try await Self.codes(runtime, caller) == codes)
        }
    }

    @Test("A rotation cut short after its new version leaves every value readable; the next run finishes both")
    func interrupted() async throws {
        try await withTestRuntime(clock: ManualClock(Date())) { test in
            let runtime = test.runtime
            let organizationID = test.organization.id
            let caller = try await runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite, .tokensCode])))
            for (index, seed) in Self.seeds.enumerated() {
                _ = try await runtime.tokens.create(TokenDraft(slug: "token-\(index)", secret: seed), by: caller)
            }
            let codes = try await Self.codes(runtime, caller)
            // Step 1 alone, as if the process died before the first batch: versions 1 (retired) and 2 (current).
            let rotation = DataKeyRotation(keyring: Keyring(master: runtime.keyring.master))
            let version = try await runtime.storage.write { try await rotation.advance(organizationID: organizationID, session: $0, at: Date()) }
            #expect(version == 2)
            #expect(try await Self.versions(test, organizationID).map(\.version) == [1, 2])
            // New values are sealed with version 2 at once; the old ones still open with version 1.
            _ = try await runtime.tokens.create(TokenDraft(slug: "during", secret: Self.seeds[0]), by: caller)
            let mixed = try await Self.sealedValues(test, organizationID)
            #expect(try Set(mixed.map { try Envelope.keyVersion(of: $0.sealed) }) == [1, 2])
            #expect(try await Self.codes(runtime, caller) == codes)

            let result = try await runtime.organizations.rotateDataKey(organizationID, batchSize: 3)
            #expect(result.version == 3 && result.retiredVersionsDeleted == 2 && result.reencrypted == Self.seeds.count + 1)
            #expect(try await Self.versions(test, organizationID).map(\.version) == [3])
            #expect(try await Self.sealedValues(test, organizationID).allSatisfy { try Envelope.keyVersion(of: $0.sealed) == 3 })
            #expect(try await Self.codes(runtime, caller) == codes)
        }
    }

    @Test("A process whose master key does not wrap the data key is refused before anything changes; an unknown organisation is 404")
    func refusals() async throws {
        try await withTestRuntime { test in
            let stranger = Runtime(storage: test.runtime.storage, keyring: Keyring(master: MasterKey.generate().key), clock: test.clock)
            await #expect(throws: Keyring.Error.self) { _ = try await stranger.organizations.rotateDataKey("default") }
            let versions = try await Self.versions(test, test.organization.id)
            #expect(versions.map(\.version) == [1])
            let missing = await #expect(throws: KaitoError.self) { _ = try await test.runtime.organizations.rotateDataKey("nobody") }
            #expect(missing?.code == .notFound)
        }
    }

    static func codes(_ runtime: Runtime, _ caller: Caller) async throws -> [String] {
        var codes: [String] = []
        for index in seeds.indices {
            codes.append(try await runtime.tokens.code(slug: "token-\(index)", minValid: nil, by: caller).code)
        }
        return codes
    }
}
