/// A permission that a key carries (docs/api.md#scopes). A scope grants nothing beyond its own line:
/// `org:admin` does not imply `tokens:code` or `tokens:seed`.
public enum Scope: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case tokensRead = "tokens:read"
    case tokensCode = "tokens:code"
    case tokensWrite = "tokens:write"
    case tokensSeed = "tokens:seed"
    case smsRead = "sms:read"
    case smsSend = "sms:send"
    case auditRead = "audit:read"
    case orgAdmin = "org:admin"

    public static func < (lhs: Scope, rhs: Scope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a list of scope names, naming the first unknown one.
    /// - Throws: `validation_failed` on the field `field` for an empty list or an unknown scope.
    public static func parseList(_ names: [String], field: String = "scopes") throws -> Set<Scope> {
        guard !names.isEmpty else { throw KaitoError.validation(field, "must name at least one scope") }
        var scopes = Set<Scope>()
        for (index, name) in names.enumerated() {
            guard let scope = Scope(rawValue: name) else {
                let known = Scope.allCases.map(\.rawValue).joined(separator: ", ")
                throw KaitoError.validation("\(field)[\(index)]", "unknown scope '\(name.prefix(40))'; known scopes: \(known)")
            }
            scopes.insert(scope)
        }
        return scopes
    }
}
