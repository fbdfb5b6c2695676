import HummingbirdBcrypt

/// Makes and checks bcrypt password hashes. Where the work runs is the implementation's choice: the server runs it
/// on a small dedicated thread pool, never on the threads that serve requests.
public protocol PasswordHasher: Sendable {
    /// The bcrypt cost of new hashes, and of the dummy hash a sign-in without a usable account is checked against.
    var cost: UInt8 { get }
    /// A new bcrypt hash of `password`. Throws `unavailable` when too many hashes are waiting.
    func hash(_ password: String) async throws -> String
    /// Whether `password` matches `hash`. Throws `unavailable` when too many hashes are waiting.
    func verify(_ password: String, hash: String) async throws -> Bool
}

extension PasswordHasher {
    /// A well-formed hash at `cost` that a sign-in for an unknown or locked account verifies against, so that it
    /// costs one bcrypt like any other; what the check answers is ignored. (OpenBSD's test vector for "U*U" at cost 5,
    /// with the cost replaced: a malformed hash would be refused at once, without the work.)
    public var dummyHash: String {
        "$2b$" + (cost < 10 ? "0" : "") + String(cost) + "$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
    }
}

/// bcrypt on the calling thread (`hashNow`, `verifyNow`); its async methods too run where they are called.
public struct Bcrypter: PasswordHasher {
    public let cost: UInt8

    /// bcrypt at `cost` (12 for the server; 4, the lowest, makes tests fast).
    public init(cost: UInt8 = 12) { self.cost = cost }

    /// A new bcrypt hash of `password`, computed on this thread.
    public func hashNow(_ password: String) -> String { Bcrypt.hash(password, cost: cost) }

    /// Whether `password` matches `hash`, computed on this thread.
    public func verifyNow(_ password: String, hash: String) -> Bool { Bcrypt.verify(password, hash: hash) }

    /// `hashNow`, on the caller's thread.
    public func hash(_ password: String) async throws -> String { hashNow(password) }

    /// `verifyNow`, on the caller's thread.
    public func verify(_ password: String, hash: String) async throws -> Bool { verifyNow(password, hash: hash) }
}
