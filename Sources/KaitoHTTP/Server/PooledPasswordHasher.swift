import KaitoCore
import NIOConcurrencyHelpers
import NIOPosix

/// bcrypt off the request threads: every hash and check runs on a dedicated pool of `threads` threads (named
/// `kaito-bcrypt-#N`), never on Swift's cooperative pool, so that a burst of sign-ins cannot stall other requests.
/// At most `threads` run at once; up to `maximumWaiting` more (per hasher: one per server) wait their turn, and a
/// sign-in beyond those is refused at once with `unavailable` (503, "try again in a few seconds") rather than queued
/// without end.
public struct PooledPasswordHasher: PasswordHasher {
    public static let threads = 2
    /// One pool for the process, started once and never stopped (like NIO's own singletons): every runtime of the
    /// process shares its bound.
    static let pool = NIOThreadPool._makePerpetualStartedPool(numberOfThreads: threads, threadNamePrefix: "kaito-bcrypt-#")

    public let cost: UInt8
    public let maximumWaiting: Int
    /// Hashes running or waiting.
    private let admitted = NIOLockedValueBox(0)
    private let hashWork: @Sendable (String) -> String
    private let verifyWork: @Sendable (String, String) -> Bool

    /// bcrypt at `cost`, with up to `maximumWaiting` checks waiting for the pool's threads.
    public init(cost: UInt8 = 12, maximumWaiting: Int = 16) {
        let bcrypt = Bcrypter(cost: cost)
        self.init(cost: cost, maximumWaiting: maximumWaiting, hash: { bcrypt.hashNow($0) }, verify: { bcrypt.verifyNow($0, hash: $1) })
    }

    /// A hasher whose work is `hash` and `verify` (tests observe where and how often they run).
    public init(
        cost: UInt8, maximumWaiting: Int = 16, hash: @escaping @Sendable (String) -> String, verify: @escaping @Sendable (String, String) -> Bool
    ) {
        self.cost = cost
        self.maximumWaiting = maximumWaiting
        self.hashWork = hash
        self.verifyWork = verify
    }

    /// A new hash of `password`, made on the pool. Throws `unavailable` beyond the waiting bound.
    public func hash(_ password: String) async throws -> String {
        let work = hashWork
        return try await run { work(password) }
    }

    /// Whether `password` matches `hash`, checked on the pool. Throws `unavailable` beyond the waiting bound.
    public func verify(_ password: String, hash: String) async throws -> Bool {
        let work = verifyWork
        return try await run { work(password, hash) }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        let entered = admitted.withLockedValue { count in
            guard count < Self.threads + maximumWaiting else { return false }
            count += 1
            return true
        }
        guard entered else {
            throw KaitoError(.unavailable, "Too many sign-ins are being checked at once; try again in a few seconds.")
        }
        defer { self.admitted.withLockedValue { $0 -= 1 } }
        return try await Self.pool.runIfActive(body)
    }
}
