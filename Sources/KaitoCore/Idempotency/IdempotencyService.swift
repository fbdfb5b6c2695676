import Crypto
import Foundation

/// The first answer to a request sent with an `Idempotency-Key`, as kept for the retries of that request.
public struct IdempotentResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var location: String?
    public var body: [UInt8]

    /// A response as its status, content type, `Location` and body.
    public init(status: Int, contentType: String?, location: String?, body: [UInt8]) {
        (self.status, self.contentType, self.location, self.body) = (status, contentType, location, body)
    }
}

/// One stored idempotency key: claimed by the request that runs (`status` nil), then holding its response, sealed.
public struct IdempotencyRecord: Sendable, Equatable {
    public var id: String
    public var organizationID: String
    /// The API key that sent the request: the same idempotency key from another API key is another request.
    public var keyID: String
    public var idempotencyKey: String
    /// SHA-256 (hex) of the method, path, query and body: a retry must send the same request.
    public var fingerprint: String
    /// Whether a transaction of the request that claimed it has committed a change: it must not run again.
    public var committed: Bool
    public var status: Int?
    public var contentType: String?
    public var location: String?
    public var sealedBody: [UInt8]?
    public var createdAt: Date

    /// A record as stored; a new claim is uncommitted and holds no response yet.
    public init(
        id: String, organizationID: String, keyID: String, idempotencyKey: String, fingerprint: String, committed: Bool = false,
        status: Int? = nil, contentType: String? = nil, location: String? = nil, sealedBody: [UInt8]? = nil, createdAt: Date
    ) {
        (self.id, self.organizationID, self.keyID, self.idempotencyKey, self.fingerprint) = (id, organizationID, keyID, idempotencyKey, fingerprint)
        self.committed = committed
        (self.status, self.contentType, self.location, self.sealedBody, self.createdAt) = (status, contentType, location, sealedBody, createdAt)
    }
}

/// Stored idempotency keys (`idempotency_keys`).
public protocol IdempotencyRepository: Sendable {
    /// Stores `record` unless its organisation, key and idempotency key are taken; whether it was stored.
    func claim(_ record: IdempotencyRecord) async throws -> Bool
    /// The record of this organisation, API key and idempotency key, or nil.
    func find(organizationID: String, keyID: String, idempotencyKey: String) async throws -> IdempotencyRecord?
    /// Notes that the request that claimed `id` has committed a change (in that change's own transaction).
    func markCommitted(id: String) async throws
    /// Records the response of the request that claimed `id`.
    func complete(id: String, status: Int, contentType: String?, location: String?, sealedBody: [UInt8]) async throws
    /// Deletes the record `id` if it holds no response and no committed change yet, or if it was created before `before`.
    func release(id: String, orCreatedBefore before: Date) async throws
    /// Deletes every record created before `before`; how many.
    func sweep(before: Date) async throws -> Int
}

/// Idempotent retries of `POST` requests (the IETF `Idempotency-Key` header, as Stripe runs it): the first request with
/// a key runs; its response (status and body, also a refusal) is kept for 24 hours and replayed to every retry with
/// the same key from the same API key, on any server sharing the database. The same key with another request is
/// `idempotency_key_reused`; a retry while the first still runs is `idempotency_key_in_use` (never two effects). A
/// server error or a rate limit is not kept (the retry runs again). Bodies are sealed with the organisation's data
/// key, like every secret: a kept response may hold a new API key or webhook secret.
public struct IdempotencyService: Sendable {
    /// How long a response is replayed, and kept.
    public static let window: TimeInterval = 24 * 3600
    /// A claim whose request has not answered after this long is abandoned (its server stopped): a retry runs again.
    public static let abandonedAfter: TimeInterval = 120
    /// What the data key binds a kept body to (with its record id).
    public static let sealKind = "idempotent-response"
    static let idPrefix = "idk"

    let storage: any Storage
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource

    /// Keys kept in `storage`, bodies sealed through `keyring`, times from `clock`, record ids from `random`.
    public init(storage: any Storage, keyring: Keyring, clock: any KaitoClock, random: any RandomSource) {
        (self.storage, self.keyring, self.clock, self.random) = (storage, keyring, clock, random)
    }

    /// What a request with an idempotency key does.
    public enum Start: Sendable {
        /// Run it: this request holds the key until `finish` or `abandon`.
        case run(Claim)
        /// Answer with the first request's response.
        case replay(IdempotentResponse)
    }

    /// The hold of a running request on its key.
    public struct Claim: Sendable {
        let id: String
        let organizationID: String
    }

    /// The claim of the request this task serves (`APIRouter.once` sets it): every unit of work that changes something
    /// marks it committed in its own transaction (`UnitOfWork.run`), so that a request whose answer was lost after
    /// its change (a failed `finish`, a stopped server) is never run again.
    @TaskLocal public static var running: Claim?

    /// Marks `claim` committed in `session`'s transaction (a unit of work of the claimed request that changes something).
    public static func markCommitted(_ claim: Claim, organizationID: String, in session: any StorageSession) async throws {
        guard claim.organizationID == organizationID else { return }
        try await session.idempotency.markCommitted(id: claim.id)
    }

    /// Whether `key` is an idempotency key: 1 to 255 printable ASCII characters.
    public static func isValid(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// The fingerprint of a request: SHA-256 of its method, path with query, and body. A JSON body counts by what it
    /// says, not how it is spelt: its keys sorted and its whitespace dropped (a client may order keys differently
    /// in each process); any other body byte for byte.
    public static func fingerprint(method: String, path: String, body: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(data: Array("\(method) \(path)\n".utf8))
        if let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
           let canonical = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) {
            hash.update(data: Array("json\n".utf8))
            hash.update(data: canonical)
        } else {
            hash.update(data: Array("bytes\n".utf8))
            hash.update(data: body)
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Claims `key` for the request `fingerprint` of `caller`, or finds the response to replay.
    /// - Throws: `idempotency_key_reused` when the key was sent with another request, `idempotency_key_in_use` when
    ///   the first request with it still runs.
    public func start(key: String, fingerprint: String, caller: Caller) async throws -> Start {
        let now = clock.now()
        let record = IdempotencyRecord(
            id: Identifier.make(prefix: Self.idPrefix, at: now, random: random), organizationID: caller.organizationID, keyID: caller.key.id,
            idempotencyKey: key, fingerprint: fingerprint, createdAt: now)
        enum Outcome: Sendable { case claimed, existing(IdempotencyRecord), vanished }
        // A few times at most: a record past its window or abandoned by its server before any change is deleted, then
        // claimed anew; one deleted by another server between this claim and its read is claimed again.
        for _ in 0..<4 {
            let outcome = try await storage.write { session -> Outcome in
                if try await session.idempotency.claim(record) { return .claimed }
                guard let existing = try await session.idempotency.find(organizationID: record.organizationID, keyID: record.keyID, idempotencyKey: key) else {
                    return .vanished
                }
                return .existing(existing)
            }
            let existing: IdempotencyRecord
            switch outcome {
            case .claimed: return .run(Claim(id: record.id, organizationID: record.organizationID))
            case .vanished: continue
            case .existing(let found): existing = found
            }
            let age = now.timeIntervalSince(existing.createdAt)
            if existing.status == nil, existing.committed, age >= Self.abandonedAfter, age < Self.window, existing.fingerprint == fingerprint {
                throw KaitoError(.idempotencyKeyInUse, """
                    The first request with this Idempotency-Key took effect, but its answer was lost (its server stopped or                     failed to keep it); it is not run again. Look its result up instead of retrying.
                    """)
            }
            if age >= Self.window || (existing.status == nil && age >= Self.abandonedAfter) {
                try await storage.write { session in
                    try await session.idempotency.release(id: existing.id, orCreatedBefore: now.addingTimeInterval(-Self.window))
                }
                continue
            }
            guard existing.fingerprint == fingerprint else {
                throw KaitoError(.idempotencyKeyReused, "This Idempotency-Key was sent with another request (method, path or body); use a new key for a new request.")
            }
            guard let status = existing.status, let sealed = existing.sealedBody else {
                throw KaitoError(.idempotencyKeyInUse, "The first request with this Idempotency-Key is still running; retry when it has answered.", retryAfter: 1)
            }
            let dataKey = try await keyring.dataKey(organizationID: existing.organizationID, opening: [sealed], storage: storage)
            let body = try dataKey.open(sealed, kind: Self.sealKind, recordID: existing.id)
            return .replay(IdempotentResponse(status: status, contentType: existing.contentType, location: existing.location, body: body))
        }
        throw KaitoError(.idempotencyKeyInUse, "Another request with this Idempotency-Key started at the same moment; retry.", retryAfter: 1)
    }

    /// Keeps `response` for the retries of the claimed request (three tries: a claim whose change committed but whose
    /// answer could not be kept is never run again, see `start`).
    public func finish(_ claim: Claim, _ response: IdempotentResponse) async throws {
        var attempt = 0
        while true {
            do {
                return try await storage.write { session in
                    let sealing = try await keyring.sealingKey(organizationID: claim.organizationID, session: session)
                    let sealed = try sealing.seal(response.body, kind: Self.sealKind, recordID: claim.id, random: random)
                    try await session.idempotency.complete(
                        id: claim.id, status: response.status, contentType: response.contentType, location: response.location, sealedBody: sealed)
                }
            } catch {
                attempt += 1
                guard attempt < 3 else { throw error }
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }

    /// Lets go of the claim without a response (a server error, a rate limit), unless the request has committed a change:
    /// then its record stays, and a retry is told it took effect rather than run again.
    public func abandon(_ claim: Claim) async throws {
        try await storage.write { session in try await session.idempotency.release(id: claim.id, orCreatedBefore: .distantPast) }
    }

    /// Deletes the keys past their 24 hours; how many (the retention service calls it).
    public func sweep() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-Self.window)
        return try await storage.write { session in try await session.idempotency.sweep(before: cutoff) }
    }
}
