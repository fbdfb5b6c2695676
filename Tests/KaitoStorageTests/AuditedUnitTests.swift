import Foundation
import KaitoCore
import KaitoStorage
import KaitoTestSupport
import Testing

/// The one way a change records its audit events (`UnitOfWork.write`, `AuditedUnit.record`), on the configured
/// database.
@Suite("A unit's audit events")
struct AuditedUnitTests {
    private func events(_ test: TestRuntime) async throws -> [AuditEvent] {
        try await test.runtime.storage.read { session in
            try await session.audit.chain(organizationID: test.organization.id, filter: AuditFilter(), afterSeq: 0, limit: 10_000)
        }
    }

    private func unitOfWork(_ test: TestRuntime) -> UnitOfWork {
        UnitOfWork(storage: test.runtime.storage, clock: test.runtime.clock, random: test.runtime.random, auditChain: test.runtime.keyring.auditChain)
    }

    @Test("An event is recorded as the acting party at the unit's time, and joins the verifiable chain")
    func recordsAsActing() async throws {
        let clock = ManualClock()
        try await withTestRuntime(clock: clock) { test in
            let before = try await events(test).count
            clock.advance(by: 90)
            let acting = Acting(
                organizationID: test.organization.id, actor: .system("unit-test"), ip: "192.0.2.7",
                origin: RequestOrigin(requestID: "req_unit", userAgent: "tests/1"))
            let event = try await unitOfWork(test).write { unit in
                try await unit.record(AuditRecord(.organizationUpdate, target: .init(type: "org", id: test.organization.id), reason: "recorded"), by: acting)
            }
            let stored = try await events(test)
            #expect(stored.count == before + 1)
            let last = try #require(stored.last)
            #expect(last == event)
            #expect(last.actor == .system("unit-test"))
            #expect(last.ip == "192.0.2.7")
            #expect(last.requestID == "req_unit")
            #expect(last.userAgent == "tests/1")
            #expect(last.reason == "recorded")
            #expect(Int(last.at.timeIntervalSince1970) == Int(clock.now().timeIntervalSince1970))
            let verified = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            #expect(verified.map(\.result) == [.intact(events: before + 1)])
        }
    }

    @Test("A unit that fails after recording keeps neither its change nor its events, and says unavailable")
    func throwingUnitKeepsNothing() async throws {
        try await withTestRuntime { test in
            let before = try await events(test)
            struct Broken: Error {}
            let error = await #expect(throws: KaitoError.self) {
                try await unitOfWork(test).write { unit in
                    try await unit.session.organizations.rename(id: test.organization.id, name: "renamed-then-undone")
                    try await unit.record(AuditRecord(.organizationUpdate, target: .init(type: "org", id: test.organization.id)), by: .operator(test.organization.id))
                    throw Broken()
                }
            }
            // Not a domain error: the unit fails closed, as when its event could not be written.
            #expect(error?.code == .unavailable)
            #expect(try await events(test) == before)
            #expect(try await test.runtime.storage.read { try await $0.organizations.find(name: "renamed-then-undone") } == nil)
            // The chain goes on from where it was: the next unit's event links to the last kept one.
            let next = try await unitOfWork(test).write { unit in
                try await unit.record(AuditRecord(.organizationUpdate, target: .init(type: "org", id: test.organization.id)), by: .operator(test.organization.id))
            }
            #expect(next.seq == (before.last?.seq ?? 0) + 1)
            let verified = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            #expect(verified.map(\.result) == [.intact(events: before.count + 1)])
        }
    }

    @Test("An operator's change is recorded as the operator, in the organisation it changed")
    func operatorIsRecorded() async throws {
        try await withTestRuntime { test in
            let (other, _) = try await test.otherOrganization()
            _ = try await test.runtime.organizations.rename(to: "renamed-by-operator", by: .operator(organizationID: other.id))
            let stored = try await test.runtime.storage.read { session in
                try await session.audit.chain(organizationID: other.id, filter: AuditFilter(), afterSeq: 0, limit: 100)
            }
            let last = try #require(stored.last)
            #expect(last.action == .organizationUpdate)
            #expect(last.actor == .operator)
            #expect(last.organizationID == other.id)
            // Nothing of it in the organisation that did not change.
            #expect(try await events(test).allSatisfy { $0.reason?.contains("renamed-by-operator") != true })
        }
    }
}
