import Foundation

/// What a unit of work asks the audit log to record; the log adds ids, sequence numbers and hashes.
public struct AuditRecord: Sendable {
    public var action: AuditAction
    public var target: AuditEvent.Target?
    public var outcome: AuditEvent.Outcome
    public var reason: String?

    public init(_ action: AuditAction, target: AuditEvent.Target?, outcome: AuditEvent.Outcome = .success, reason: String? = nil) {
        self.action = action
        self.target = target
        self.outcome = outcome
        self.reason = reason
    }

    public static func token(_ action: AuditAction, _ slug: String) -> AuditRecord {
        AuditRecord(action, target: .init(type: "token", id: slug))
    }

    public static func key(_ action: AuditAction, _ id: String) -> AuditRecord {
        AuditRecord(action, target: .init(type: "key", id: id))
    }
}

/// Where a request came from, as the audit log records it.
public struct RequestOrigin: Sendable, Equatable {
    public var requestID: String?
    public var userAgent: String?

    public init(requestID: String? = nil, userAgent: String? = nil) {
        self.requestID = requestID
        self.userAgent = userAgent.map { String($0.prefix(256)) }
    }
}
