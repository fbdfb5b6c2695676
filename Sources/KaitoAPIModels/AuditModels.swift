/// An audit event as `GET /v1/audit` and the export return it (docs/api.md#audit-log).
public struct AuditEventResponse: Codable, Sendable, Equatable {
    public struct Actor: Codable, Sendable, Equatable {
        public var type: String
        public var id: String
        public var name: String?
        public init(type: String, id: String, name: String?) {
            self.type = type
            self.id = id
            self.name = name
        }
    }

    public struct Target: Codable, Sendable, Equatable {
        public var type: String
        public var id: String
        public init(type: String, id: String) {
            self.type = type
            self.id = id
        }
    }

    public var id: String
    public var seq: Int
    public var at: String
    public var actor: Actor
    public var action: String
    public var target: Target?
    public var outcome: String
    public var reason: String?
    public var ip: String?
    public var userAgent: String?
    public var requestID: String?
    public var flagged: Bool
    public var hash: String
    public var prevHash: String
    /// How many occurrences the event stands for: 1, or more for repeated denials folded into one event.
    public var count: Int

    public init(
        id: String, seq: Int, at: String, actor: Actor, action: String, target: Target?, outcome: String, reason: String?,
        ip: String?, userAgent: String?, requestID: String?, flagged: Bool, hash: String, prevHash: String, count: Int = 1
    ) {
        self.count = count
        self.id = id
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.outcome = outcome
        self.reason = reason
        self.ip = ip
        self.userAgent = userAgent
        self.requestID = requestID
        self.flagged = flagged
        self.hash = hash
        self.prevHash = prevHash
    }

    enum CodingKeys: String, CodingKey {
        case id, seq, at, actor, action, target, outcome, reason, ip, flagged, hash, count
        case userAgent = "user_agent"
        case requestID = "request_id"
        case prevHash = "prev_hash"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(seq, forKey: .seq)
        try container.encode(at, forKey: .at)
        try container.encode(actor, forKey: .actor)
        try container.encode(action, forKey: .action)
        try container.encode(target, forKey: .target)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(reason, forKey: .reason)
        try container.encode(ip, forKey: .ip)
        try container.encode(userAgent, forKey: .userAgent)
        try container.encode(requestID, forKey: .requestID)
        try container.encode(flagged, forKey: .flagged)
        try container.encode(hash, forKey: .hash)
        try container.encode(prevHash, forKey: .prevHash)
        try container.encode(count, forKey: .count)
    }
}
