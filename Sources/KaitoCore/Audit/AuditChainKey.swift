import Crypto
import Foundation

/// The key of the audit hash chains: each event's `hash` is HMAC-SHA256 under it, and so is the tag of each chain's
/// head. It is a server secret, wrapped by the master key in `server_secrets` and kept through master-key rotations,
/// so that someone who can write the database but does not hold the master key can neither forge an event nor move
/// a chain's head back without `kaito audit verify` saying so.
public struct AuditChainKey: Sendable {
    /// HMAC-SHA256 keyed once (its padded key already hashed in); each use starts from a copy.
    private let keyed: HMAC<SHA256>

    /// The chain key from its 32 stored bytes.
    public init(bytes: [UInt8]) {
        self.keyed = HMAC<SHA256>(key: SymmetricKey(data: bytes))
    }

    /// The event's hash: HMAC-SHA256 of its canonical form (which includes `prev_hash`), in lowercase hex.
    public func hash(_ event: AuditEvent) -> String {
        JSONText.hexString(mac(event.canonicalForm))
    }

    /// The tag of a chain's stored state: its anchor, head and the end of its unkeyed part.
    public func tag(_ state: AuditChainState) -> String {
        JSONText.hexString(mac(state.canonicalForm))
    }

    private func mac(_ text: String) -> HashedAuthenticationCode<SHA256> {
        var mac = keyed
        mac.update(data: Array(text.utf8))
        return mac.finalize()
    }

    /// Whether `hash` is `event`'s keyed hash (checked in constant time).
    func isValid(hash: String, of event: AuditEvent) -> Bool {
        isValid(hex: hash, over: event.canonicalForm)
    }

    /// Whether the state's tag is the one this key gives it (checked in constant time).
    func isValid(_ state: AuditChainState) -> Bool {
        guard let tag = state.tag else { return false }
        return isValid(hex: tag, over: state.canonicalForm)
    }

    private func isValid(hex: String, over text: String) -> Bool {
        guard let given = Self.bytes(hex: hex), given.count == SHA256.byteCount else { return false }
        // HashedAuthenticationCode's == compares in constant time.
        return mac(text) == given
    }

    /// The bytes of lowercase or uppercase hex text; nil for anything else.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}

/// What the database keeps of one organisation's chain besides its events: where verification starts (genesis, or
/// the anchor pruning left), the newest event, and up to which `seq` events were written before chains were keyed
/// (those are plain SHA-256). The tag, an HMAC under the chain key over all of it, makes each of them unforgeable
/// without the master key.
public struct AuditChainState: Sendable, Equatable {
    public var organizationID: String
    public var anchor: AuditHead
    public var head: AuditHead
    /// Events with `seq` up to this one are hashed with plain SHA-256 (written by a version before keyed chains).
    public var keyedFrom: Int
    /// HMAC-SHA256 of `canonicalForm` under the chain key; nil only for a chain that has never moved.
    public var tag: String?

    /// A stored state as read from `audit_heads`.
    public init(organizationID: String, anchor: AuditHead, head: AuditHead, keyedFrom: Int, tag: String?) {
        self.organizationID = organizationID
        self.anchor = anchor
        self.head = head
        self.keyedFrom = keyedFrom
        self.tag = tag
    }

    /// Whether this is a chain that has never moved (no events, no tag): the one state without a tag that is valid.
    public var isUntouched: Bool { head.seq == 0 && anchor.seq == 0 && keyedFrom == 0 && tag == nil }

    /// Whether `chain` would have written this state: untouched, or carrying its valid tag. A state changed
    /// outside the server is never signed again (appends keep its broken tag), so `verify` keeps reporting it.
    public func isTrusted(by chain: AuditChainKey) -> Bool { isUntouched || chain.isValid(self) }

    /// A chain with no events yet.
    public static func genesis(_ organizationID: String) -> AuditChainState {
        let genesis = AuditHead(seq: 0, hash: AuditEvent.genesisHash)
        return AuditChainState(organizationID: organizationID, anchor: genesis, head: genesis, keyedFrom: 0, tag: nil)
    }

    /// What the tag covers, one `name=value` per line.
    var canonicalForm: String {
        [
            "org_id=\(organizationID)", "anchor_seq=\(anchor.seq)", "anchor_hash=\(anchor.hash)",
            "seq=\(head.seq)", "hash=\(head.hash)", "keyed_from=\(keyedFrom)",
        ].joined(separator: "\n")
    }
}
