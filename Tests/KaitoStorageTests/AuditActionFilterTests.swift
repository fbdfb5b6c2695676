import Foundation
import KaitoCore
import KaitoStorage
import KaitoTestSupport
import Testing

/// The audit `action` filter's prefix form (`token.*`) is a SQL `LIKE`: no character of the filter may act as a
/// wildcard (`_`, `%`) or as the escape character (`\`).
@Suite("Audit action filter: LIKE metacharacters match only themselves")
struct AuditActionFilterTests {
    static let actions: [AuditAction] = [.tokenCodeRead, .tokenCreate, .organizationDataKeyRotate, .organizationUpdate, .keyCreate]

    /// (filter, the actions it selects among `actions`).
    static let filters: [(String, Set<String>)] = [
        ("token.*", ["token.code.read", "token.create"]),
        ("org.data_key.*", ["org.data_key.rotate"]),
        ("token_code.*", []),
        ("t_ken.*", []),
        ("org.data.key.*", []),
        ("org_data_key.*", []),
        ("org.data%.*", []),
        ("%.*", []),
        ("_.*", []),
        ("token\\.*", []),
        ("\\%.*", []),
        ("token.code.read", ["token.code.read"]),
        ("token_code_read", []),
    ]

    @Test("A prefix filter matches its own characters only", arguments: filters)
    func prefix(filter: (String, Set<String>)) async throws {
        try await withTestRuntime { test in
            let organizationID = test.organization.id
            let base = try await test.runtime.storage.read { try await $0.audit.state(organizationID: organizationID).head.seq }
            try await test.runtime.storage.write { session in
                for (index, action) in Self.actions.enumerated() {
                    try await session.audit.insert(AuditEvent(
                        id: "evt_like\(index)", organizationID: organizationID, seq: base + 1000 + index, at: Date(),
                        actor: .init(type: "operator", id: "test", name: nil), action: action, target: nil, outcome: .success,
                        reason: nil, ip: nil, userAgent: nil, requestID: nil, flagged: false,
                        prevHash: AuditEvent.genesisHash, hash: AuditEvent.genesisHash))
                }
            }
            let found = try await test.runtime.storage.read { session in
                try await session.audit.list(organizationID: organizationID, filter: AuditFilter(action: filter.0), beforeSeq: nil, limit: 100)
            }
            let mine = Set(found.filter { $0.id.hasPrefix("evt_like") }.map(\.action.rawValue))
            #expect(mine == filter.1, "\(filter.0)")
        }
    }
}
