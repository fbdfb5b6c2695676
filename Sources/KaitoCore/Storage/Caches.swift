import Foundation
import NIOConcurrencyHelpers

/// The `ChangeHub` topics that a committed change to a cached kind of row publishes (the repositories publish them
/// in the changing transaction: after the commit on SQLite, through `NOTIFY` to every server on PostgreSQL).
public enum CacheTopic {
    public static let keys = "cache.keys"
    public static let tokens = "cache.tokens"
    public static let webhooks = "cache.webhooks"
    public static let all = [keys, tokens, webhooks]
}

/// A map in memory that a change empties at once. A value read from the database is kept only if no change was
/// published while it was being read (the generation it was read at is still current), so a read that raced with a
/// revocation can never put the revoked key back.
public final class InvalidatedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var entries: [Key: Value] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// The most entries kept; a full cache starts over (a bound on memory, not an eviction policy: the working set
    /// of a server is its organisations' keys and tokens).
    let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached value for `key`, or the one `load` reads (nil: not found, and nothing is kept). When memory is not
    /// `usable` (the storage cannot vouch for it now: `Storage.cachesAreCurrent`), `load` reads and nothing is kept.
    public func value(for key: Key, usable: Bool = true, load: () async throws -> Value?) async throws -> Value? {
        guard usable else { return try await load() }
        // One look under the lock: a hit, or the generation a read from the database starts at.
        let (hit, generation) = state.withLockedValue { state in (state.entries[key], state.generation) }
        if let hit { return hit }
        guard let loaded = try await load() else { return nil }
        state.withLockedValue { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = loaded
        }
        return loaded
    }

    /// Forgets every entry, and every value being read now.
    public func invalidate() {
        state.withLockedValue { state in
            state.generation &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }

    /// How many entries are kept (for tests).
    public var count: Int { state.withLockedValue { $0.entries.count } }
}

/// What a server keeps in memory to answer a request without reading the database: keys by hash and tokens by
/// organisation and slug (seeds stay sealed: they are opened per request). They are used only while the storage
/// says they are current (`Storage.cachesAreCurrent`), and emptied by every change to what they hold.
public final class ServerCaches: Sendable {
    public struct TokenKey: Hashable, Sendable {
        let organizationID: String
        let slug: String
    }

    let keys = InvalidatedCache<[UInt8], APIKey>(capacity: 10_000)
    let tokens = InvalidatedCache<TokenKey, Token>(capacity: 10_000)
    /// Each organisation's tokens in slug order, when it has at most `listedTokens` of them.
    let tokenLists = InvalidatedCache<String, [Token]>(capacity: 1_000)
    static let listedTokens = 1_000

    init(changes: ChangeHub) {
        changes.observe(CacheTopic.keys) { [keys] in keys.invalidate() }
        changes.observe(CacheTopic.tokens) { [tokens, tokenLists] in
            tokens.invalidate()
            tokenLists.invalidate()
        }
    }
}
