/// The authenticated key behind a request; every operation runs on behalf of one.
public struct Caller: Sendable {
    public var key: APIKey
    public var organizationID: String { key.organizationID }

    public init(key: APIKey) { self.key = key }

    /// - Throws: `insufficient_scope` naming `scope` unless the key carries it.
    public func require(_ scope: Scope) throws {
        guard key.scopes.contains(scope) else {
            throw KaitoError(.insufficientScope, "This key lacks the scope \(scope.rawValue).", requiredScope: scope)
        }
    }
}
