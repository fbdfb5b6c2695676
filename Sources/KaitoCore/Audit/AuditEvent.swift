import Crypto
import Foundation

/// One entry of an organisation's tamper-evident audit log: a link of its organisation's keyed hash chain.
public struct AuditEvent: Sendable, Equatable {
    public struct Actor: Sendable, Equatable {
        public var type: String
        public var id: String
        public var name: String?
        public init(type: String, id: String, name: String?) {
            self.type = type
            self.id = id
            self.name = name
        }

        /// An API key, by its id and name.
        public static func key(_ key: APIKey) -> Actor { Actor(type: "key", id: key.id, name: key.name) }
        /// A dashboard user, by id and email.
        public static func user(_ user: OrgUser) -> Actor { Actor(type: "user", id: user.id, name: user.email) }
        /// The server itself, or a process of its operator, named by `id` (`operator`, `webhook-dispatcher`).
        public static func system(_ id: String) -> Actor { Actor(type: "system", id: id, name: nil) }
        /// Whoever runs `kaito admin` on the server's machine.
        public static let `operator` = system("operator")
    }

    public struct Target: Sendable, Equatable {
        public var type: String
        public var id: String
        public init(type: String, id: String) {
            self.type = type
            self.id = id
        }
    }

    public var id: String
    public var organizationID: String
    public var seq: Int
    public var at: Date
    public var actor: Actor
    public var action: AuditAction
    public var target: Target?
    public var outcome: Outcome
    public var reason: String?
    public var ip: String?
    public var userAgent: String?
    public var requestID: String?
    public var flagged: Bool
    public var prevHash: String
    public var hash: String
    /// How many occurrences the event stands for: 1, or more for repeated denials folded into one event.
    public var count: Int

    public init(
        id: String, organizationID: String, seq: Int, at: Date, actor: Actor, action: AuditAction, target: Target?,
        outcome: Outcome, reason: String?, ip: String?, userAgent: String?, requestID: String?, flagged: Bool,
        prevHash: String, hash: String, count: Int = 1
    ) {
        self.count = count
        self.id = id
        self.organizationID = organizationID
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
        self.prevHash = prevHash
        self.hash = hash
    }

    public enum Outcome: String, Sendable, Codable {
        case success, denied
    }

    public static let idPrefix = "evt"
    /// The `prev_hash` of an organisation's first event.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The canonical encoding the hash covers: every field but `hash`, in a fixed order, each as
    /// `name=<byte length>:<value>` on its own line, so that no choice of values can make two events encode alike.
    public var canonicalForm: String {
        // Written field by field into one string (every event on the writer's thread is hashed over this).
        var text = ""
        text.reserveCapacity(384)
        func field(_ name: String, _ value: String?) {
            if !text.isEmpty { text.append("\n") }
            text.append(name)
            guard let value else { return text.append("=-") }
            text.append("=")
            text.append(String(value.utf8.count))
            text.append(":")
            text.append(value)
        }
        field("id", id)
        field("org_id", organizationID)
        field("seq", String(seq))
        field("at", Timestamp.format(at))
        field("actor.type", actor.type)
        field("actor.id", actor.id)
        field("actor.name", actor.name)
        field("action", action.rawValue)
        field("target.type", target?.type)
        field("target.id", target?.id)
        field("outcome", outcome.rawValue)
        field("reason", reason)
        field("ip", ip)
        field("user_agent", userAgent)
        field("request_id", requestID)
        field("flagged", flagged ? "true" : "false")
        field("prev_hash", prevHash)
        if count != 1 { field("count", String(count)) }  // absent for 1: events from before `count` hash as they did
        return text
    }

    /// The event as the API shows it, as JSON (the `data` of an `audit.event` webhook).
    public var json: String {
        func value(_ text: String?) -> Any { text ?? NSNull() }
        let object: [String: Any] = [
            "id": id, "seq": seq, "at": Timestamp.format(at),
            "actor": ["type": actor.type, "id": actor.id, "name": value(actor.name)],
            "action": action.rawValue,
            "target": target.map { ["type": $0.type, "id": $0.id] as Any } ?? NSNull(),
            "outcome": outcome.rawValue, "reason": value(reason), "ip": value(ip), "user_agent": value(userAgent),
            "request_id": value(requestID), "flagged": flagged, "hash": hash, "prev_hash": prevHash, "count": count,
        ]
        return Outbox.json(object)
    }

    /// Plain SHA-256 over the canonical form, in lowercase hex: the hash of events written before chains were keyed
    /// (`AuditChainKey.hash` is the hash of every event since).
    public var unkeyedHash: String {
        JSONText.hexString(SHA256.hash(data: Array(canonicalForm.utf8)))
    }
}

/// The audited actions, listed in one place (and in the README).
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case tokenCreate = "token.create"
    case tokenUpdate = "token.update"
    case tokenDelete = "token.delete"
    case tokenCodeRead = "token.code.read"
    case tokenSeedRead = "token.seed.read"
    case tokenSeedRotate = "token.seed.rotate"
    case keyCreate = "key.create"
    case keyUpdate = "key.update"
    case keyRevoke = "key.revoke"
    case organizationCreate = "org.create"
    case organizationPlanChange = "org.plan.change"
    case organizationUpdate = "org.update"
    case organizationDataKeyRotate = "org.data_key.rotate"
    case userCreate = "user.create"
    case userRemove = "user.remove"
    case userPasswordSet = "user.password.set"
    case userUnlock = "user.unlock"
    case userSignIn = "user.signin"
    case userSignOut = "user.signout"
    case userSecondFactorEnrol = "user.totp.enrol"
    case userGrantsUpdate = "user.grants.update"
    case webhookCreate = "webhook.create"
    case webhookUpdate = "webhook.update"
    case webhookDelete = "webhook.delete"
    case webhookSecretRotate = "webhook.secret.rotate"
    case webhookDisabled = "webhook.disabled"
    case webhookTest = "webhook.test"
    case webhookDeliveryRetry = "webhook.delivery.retry"
    case inboxCreate = "inbox.create"
    case inboxUpdate = "inbox.update"
    case inboxDelete = "inbox.delete"
    case inboxSimulate = "inbox.simulate"
    case smsMessageRead = "sms.message.read"
    case smsSend = "sms.send"
    case providerUpdate = "org.provider.update"
    case authDenied = "auth.denied"

    /// `tokens:seed` use stands out.
    public var isFlagged: Bool { self == .tokenSeedRead || self == .tokenSeedRotate }
}
