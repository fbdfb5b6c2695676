import SQLKit

/// A `column LIKE 'prefix%' ESCAPE '\'` condition whose prefix matches only itself: `%`, `_` and `\` in it are
/// escaped, so that no character of the caller's text is a wildcard. The same SQL on SQLite and PostgreSQL.
struct SQLLikePrefix: SQLExpression {
    let column: String
    let prefix: String

    /// `prefix` with every LIKE metacharacter escaped by a backslash.
    static func escape(_ prefix: String) -> String {
        var escaped = ""
        for character in prefix {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    func serialize(to serializer: inout SQLSerializer) {
        SQLQueryString("\(ident: column) LIKE \(bind: Self.escape(prefix) + "%") ESCAPE '\\'").serialize(to: &serializer)
    }
}
