import Foundation
import NIOConcurrencyHelpers

/// Folds repeated denials so that a refused key cannot fill the audit log: per key and reason, the first denial of
/// each minute is written at once (before its 401 or 403 is answered), and the repeats within that minute are
/// counted in memory and written as one event with their `count` once the minute is over. Each server folds its
/// own denials; a key refused on two servers writes at most two events a minute per reason and server.
public final class DenialFolding: Sendable {
    struct Fold: Hashable {
        var keyID: String
        var reason: String
    }

    /// Repeats of one fold within one minute, with what the event that reports them needs.
    public struct Repeats: Sendable, Equatable {
        public var minute: Int64
        public var count: Int
        public var actor: AuditEvent.Actor
        public var organizationID: String
        public var reason: String
        /// The target if every repeat had the same one.
        public var target: AuditEvent.Target?
        var mixedTargets: Bool
        /// Where the last repeat came from.
        public var ip: String?
        public var origin: RequestOrigin
    }

    private struct State {
        var folds: [Fold: Repeats] = [:]
        /// Repeats taken for writing whose write failed: written with the next ones.
        var backlog: [Repeats] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// The minute `date` falls in.
    public static func minute(of date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite else { return 0 }
        return Int64(max(-1e15, min(1e15, (seconds / 60).rounded(.down))))
    }

    /// Counts one denial; true when it is the first of its fold this minute and must be written now.
    func admit(key: APIKey, reason: String, target: AuditEvent.Target?, ip: String?, origin: RequestOrigin, minute: Int64) -> Bool {
        state.withLockedValue { state in
            let fold = Fold(keyID: key.id, reason: reason)
            if var repeats = state.folds[fold], repeats.minute == minute {
                repeats.count += 1
                if repeats.target != target { repeats.mixedTargets = true }
                repeats.ip = ip
                repeats.origin = origin
                state.folds[fold] = repeats
                return false
            }
            if let ended = state.folds[fold], ended.count > 0 { state.backlog.append(ended) }  // a minute not yet taken
            state.folds[fold] = Repeats(
                minute: minute, count: 0, actor: .key(key), organizationID: key.organizationID,
                reason: reason, target: target, mixedTargets: false, ip: ip, origin: origin)
            return true
        }
    }

    /// Removes the folds of minutes before `minute` (every fold when nil) and returns those that counted repeats,
    /// with any whose earlier write failed.
    public func takeEnded(before minute: Int64?) -> [Repeats] {
        state.withLockedValue { state in
            let ended = state.folds.filter { minute == nil || $0.value.minute < minute! }
            for fold in ended.keys { state.folds.removeValue(forKey: fold) }
            let taken = state.backlog + ended.values.filter { $0.count > 0 }.map { repeats in
                var repeats = repeats
                if repeats.mixedTargets { repeats.target = nil }
                return repeats
            }
            state.backlog = []
            return taken.sorted { ($0.minute, $0.actor.id, $0.reason) < ($1.minute, $1.actor.id, $1.reason) }
        }
    }

    /// Puts back what a failed write took: the repeats are written with the next ones, and a first denial that
    /// could not be written is counted as a repeat of its minute (nothing is lost; it is written late).
    func restore(_ taken: [Repeats], firstOf key: APIKey?, reason: String, minute: Int64) {
        state.withLockedValue { state in
            state.backlog.append(contentsOf: taken)
            guard let key else { return }
            let fold = Fold(keyID: key.id, reason: reason)
            if var repeats = state.folds[fold], repeats.minute == minute {
                repeats.count += 1
                state.folds[fold] = repeats
            }
        }
    }
}
