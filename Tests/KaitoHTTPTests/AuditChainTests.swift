import Foundation
import HummingbirdTesting
import KaitoAPIModels
@testable import KaitoCore
import KaitoHTTP
import KaitoTestSupport
import Testing

/// Someone who can write the database but does not hold the master key: every way to rewrite the log's history is
/// caught by `verify`, and truncation also by anyone holding an earlier head (`expect`).
@Suite("Keyed audit chains against a database writer")
struct AuditChainTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    /// An organisation with a token and `reads` code reads: `reads + 2` events (org.create, token.create, reads).
    func withChain(reads: Int = 6, _ body: @Sendable @escaping (TestRuntime, any TestClientProtocol) async throws -> Void) async throws {
        try await withTestApp { test, client in
            let ops = try await test.key([.tokensWrite, .tokensCode], name: "ops")
            _ = try await client.send(.post, "/v1/tokens", key: ops, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            for _ in 0..<reads { _ = try await client.send(.get, "/v1/tokens/s/code", key: ops) }
            #expect(try await Self.verdict(test) == .intact(events: reads + 2))
            try await body(test, client)
        }
    }

    static func verdict(_ test: TestRuntime, expect: AuditHead? = nil) async throws -> AuditVerification {
        try #require(try await test.runtime.audit.verify(organizationIDs: [test.organization.id], expect: expect).first?.result)
    }

    static func events(_ test: TestRuntime) async throws -> [AuditEvent] {
        let id = test.organization.id
        return try await test.runtime.storage.read { try await $0.audit.chain(organizationID: id, filter: AuditFilter(), afterSeq: 0, limit: 10_000) }
    }

    static func state(_ test: TestRuntime) async throws -> AuditChainState {
        let id = test.organization.id
        return try await test.runtime.storage.read { try await $0.audit.state(organizationID: id) }
    }

    /// Rewrites every event from `seq` on as the writer would with plain SHA-256 (the hash an unkeyed chain used),
    /// relinking them, and moves the head to the last one.
    static func rechainUnkeyed(_ test: TestRuntime, from seq: Int, edit: (inout AuditEvent) -> Void = { _ in }) async throws {
        let org = test.organization.id
        var events = try await events(test)
        var previous = events.first { $0.seq == seq - 1 }?.hash ?? AuditEvent.genesisHash
        for index in events.indices where events[index].seq >= seq {
            if events[index].seq == seq { edit(&events[index]) }
            events[index].prevHash = previous
            events[index].hash = events[index].unkeyedHash
            previous = events[index].hash
            let event = events[index]
            try await test.execute("""
                UPDATE audit_events SET ip = \(event.ip.map { "'\($0)'" } ?? "NULL"), prev_hash = '\(event.prevHash)', hash = '\(event.hash)'
                WHERE org_id = '\(org)' AND seq = \(event.seq)
                """)
        }
        try await test.execute("UPDATE audit_heads SET hash = '\(previous)' WHERE org_id = '\(org)'")
    }

    static func isBroken(_ verdict: AuditVerification) -> Bool {
        if case .broken = verdict { return true }
        return false
    }

    @Test("An event edited and the chain after it recomputed with plain SHA-256 is caught")
    func rewriteWithSHA256() async throws {
        try await withChain { test, _ in
            try await Self.rechainUnkeyed(test, from: 4) { $0.ip = "198.51.100.66" }
            #expect(Self.isBroken(try await Self.verdict(test)))
            // Even with the chain state's tag left alone and only the events rewritten up to the stored head hash.
        }
    }

    @Test("Deleting the newest events and moving the head back is caught")
    func truncation() async throws {
        try await withChain { test, _ in
            let org = test.organization.id
            let events = try await Self.events(test)
            let kept = events[events.count - 3]
            try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)' AND seq > \(kept.seq)")
            try await test.execute("UPDATE audit_heads SET seq = \(kept.seq), hash = '\(kept.hash)' WHERE org_id = '\(org)'")
            guard case .broken(_, let reason) = try await Self.verdict(test) else {
                Issue.record("truncation not detected")
                return
            }
            #expect(reason.contains("tag"))
        }
    }

    @Test("Restoring an earlier head row exactly passes verify alone, but not against a head seen elsewhere")
    func restoredHeadNeedsExpect() async throws {
        try await withChain(reads: 2) { test, client in
            let org = test.organization.id
            let earlier = try await Self.state(test)
            let ops = try await test.key([.tokensCode], name: "later")
            for _ in 0..<3 { _ = try await client.send(.get, "/v1/tokens/s/code", key: ops) }
            let newest = try #require(try await Self.events(test).last)
            // What a receiver of the audit.event webhook or an export holds: the newest seq and hash.
            #expect(try await Self.verdict(test, expect: AuditHead(seq: newest.seq, hash: newest.hash)) == .intact(events: newest.seq))
            #expect(Self.isBroken(try await Self.verdict(test, expect: AuditHead(seq: newest.seq, hash: String(repeating: "a", count: 64)))))

            try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)' AND seq > \(earlier.head.seq)")
            try await test.execute("""
                UPDATE audit_heads SET seq = \(earlier.head.seq), hash = '\(earlier.head.hash)', tag = '\(earlier.tag ?? "")' WHERE org_id = '\(org)'
                """)
            #expect(try await Self.verdict(test) == .intact(events: earlier.head.seq))
            guard case .broken(let seq, let reason) = try await Self.verdict(test, expect: AuditHead(seq: newest.seq, hash: newest.hash)) else {
                Issue.record("truncation to a restored head not caught by expect")
                return
            }
            #expect(seq == earlier.head.seq + 1)
            #expect(reason.contains("removed"))
        }
    }

    /// The database writer's edits of a chain's stored state (and the events to match).
    static func tamper(_ kind: String, _ test: TestRuntime) async throws {
        let org = test.organization.id
        let events = try await events(test)
        switch kind {
        case "truncate":
            let kept = events[events.count - 3]
            try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)' AND seq > \(kept.seq)")
            try await test.execute("UPDATE audit_heads SET seq = \(kept.seq), hash = '\(kept.hash)' WHERE org_id = '\(org)'")
        case "anchor":
            try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)' AND seq <= 3")
            try await test.execute("UPDATE audit_heads SET anchor_seq = 3, anchor_hash = '\(events[2].hash)' WHERE org_id = '\(org)'")
        case "keyed_from":
            // Declaring every event unkeyed, and rewriting them with SHA-256 to match.
            try await rechainUnkeyed(test, from: 1)
            try await test.execute("UPDATE audit_heads SET keyed_from = \(events.count) WHERE org_id = '\(org)'")
        case "head row deleted":
            // Hiding the chain from `verify`, which once listed only organisations with a head row.
            try await test.execute("DELETE FROM audit_heads WHERE org_id = '\(org)'")
        case "emptied":
            try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)'")
            try await test.execute("DELETE FROM audit_heads WHERE org_id = '\(org)'")
        default:
            try await test.execute("UPDATE audit_heads SET tag = NULL WHERE org_id = '\(org)'")
        }
    }

    @Test("Moving the anchor forward (deleting the oldest events) or the end of the unkeyed part is caught", arguments: ["anchor", "keyed_from", "tag", "head row deleted", "emptied"])
    func stateEdits(field: String) async throws {
        try await withChain { test, _ in
            try await Self.tamper(field, test)
            #expect(Self.isBroken(try await Self.verdict(test)), "\(field)")
            // Also when every organisation is verified, as `kaito audit verify` does without --org.
            let all = try await test.runtime.audit.verify()
            #expect(all.contains { $0.organizationID == test.organization.id && Self.isBroken($0.result) }, "\(field): \(all)")
        }
    }

    @Test("The server never signs over a state changed outside it: after the next appends (and a prune) it stays broken", arguments: ["truncate", "keyed_from", "anchor"])
    func noResigning(kind: String) async throws {
        try await withChain { test, client in
            try await Self.tamper(kind, test)
            // Ordinary traffic goes on: the server appends, but does not sign the state it found.
            let ops = try await test.key([.tokensCode], name: "after")
            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/tokens/s/code", key: ops).status == .ok) }
            #expect(Self.isBroken(try await Self.verdict(test)), "\(kind)")
            test.clock.advance(by: 40 * 86_400)
            #expect(try await test.runtime.audit.prune(retentionDays: 30, now: test.clock.now()) == 0, "a tampered chain is not pruned")
            #expect(Self.isBroken(try await Self.verdict(test)), "\(kind)")
        }
    }

    @Test("A chain written before keyed chains keeps verifying: its events stay SHA-256, the ones after are keyed")
    func upgradeFromUnkeyed() async throws {
        try await withChain(reads: 3) { test, _ in
            let org = test.organization.id
            // The database as the previous version left it: plain SHA-256 events, no tag, no chain key stored.
            try await Self.rechainUnkeyed(test, from: 1)
            try await test.execute("UPDATE audit_heads SET tag = NULL, keyed_from = 0 WHERE org_id = '\(org)'")
            try await test.execute("DELETE FROM server_secrets WHERE name = 'audit-chain'")
            let legacy = try await Self.events(test).count

            // Someone who deleted the chain key to pass off such a chain gets nothing: only the process that applies the
            // keyed-chains migration tags chains.
            let attacker = try await Keyring.open(master: test.runtime.keyring.master, storage: test.runtime.storage)
            #expect(Self.isBroken(try #require(try await Runtime(storage: test.runtime.storage, keyring: attacker, clock: test.clock)
                .audit.verify(organizationIDs: [org]).first?.result)))
            try await test.execute("DELETE FROM server_secrets WHERE name = 'audit-chain'")
            // The first start of this version (it applied the migration) stores the chain key and tags the chain.
            let keyring = try await Keyring.open(master: test.runtime.keyring.master, storage: test.runtime.storage, upgradedAuditChains: true)
            let upgraded = Runtime(storage: test.runtime.storage, keyring: keyring, clock: test.clock)
            #expect(try await Self.state(test).keyedFrom == legacy)
            try await upgraded.storage.write { session in
                try await AuditLog(random: SystemRandomSource(), chain: keyring.auditChain).append(
                    .token(.tokenCodeRead, "s"), actor: .init(type: "key", id: "key_x", name: nil), organizationID: org, ip: nil,
                    origin: RequestOrigin(), at: test.clock.now(), in: session)
            }
            #expect(try await upgraded.audit.verify(organizationIDs: [org]).first?.result == .intact(events: legacy + 1))
            // A second start does not tag again (a chain whose tag was removed stays broken).
            try await test.execute("UPDATE audit_heads SET tag = NULL WHERE org_id = '\(org)'")
            let again = try await Keyring.open(master: test.runtime.keyring.master, storage: test.runtime.storage)
            #expect(Self.isBroken(try #require(try await Runtime(storage: test.runtime.storage, keyring: again, clock: test.clock)
                .audit.verify(organizationIDs: [org]).first?.result)))
        }
    }

    @Test("After a master-key rotation the chain key is the same: old and new events verify")
    func masterKeyRotation() async throws {
        try await withChain(reads: 2) { test, _ in
            let org = test.organization.id
            let new = MasterKey.generate().key
            _ = try await Keyring.rotateMasterKey(from: test.runtime.keyring.master, to: new, storage: test.runtime.storage)
            let keyring = try await Keyring.open(master: new, storage: test.runtime.storage)
            let rotated = Runtime(storage: test.runtime.storage, keyring: keyring, clock: test.clock)
            try await rotated.storage.write { session in
                try await AuditLog(random: SystemRandomSource(), chain: keyring.auditChain).append(
                    .token(.tokenCodeRead, "s"), actor: .init(type: "key", id: "key_x", name: nil), organizationID: org, ip: nil,
                    origin: RequestOrigin(), at: test.clock.now(), in: session)
            }
            #expect(try await rotated.audit.verify(organizationIDs: [org]).first?.result == .intact(events: 5))
            // A key derived from the new master key is not the chain key.
            let derived = Keyring(master: new)
            #expect(Self.isBroken(try #require(try await Runtime(storage: test.runtime.storage, keyring: derived, clock: test.clock)
                .audit.verify(organizationIDs: [org]).first?.result)))
        }
    }
}
