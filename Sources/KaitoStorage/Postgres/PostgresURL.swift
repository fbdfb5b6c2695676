import Foundation
import NIOSSL
import PostgresNIO

/// Parses `postgres://user:password@host:port/database?sslmode=...` (also `postgresql://`, and `?host=/path` for a
/// Unix socket) into a client configuration. `sslmode` follows libpq: `disable`, `prefer` (the default),
/// `require` (encrypted, certificate not checked), `verify-full` (encrypted and verified).
enum PostgresURL {
    struct Invalid: Error, CustomStringConvertible {
        let reason: String
        var description: String { "invalid database URL: \(reason)" }
    }

    static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw Invalid(reason: "expected postgres://user@host:port/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let databaseName = database.isEmpty ? nil : database.removingPercentEncoding

        if let socket = query["host"], socket.hasPrefix("/") {
            let path = socket.hasSuffix(".s.PGSQL.\(components.port ?? 5432)") ? socket : socket + "/.s.PGSQL.\(components.port ?? 5432)"
            return PostgresClient.Configuration(unixSocketPath: path, username: username, password: password, database: databaseName)
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(reason: "no host") }
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(unverified)
        case "require": tls = .require(unverified)
        case "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw Invalid(reason: "unknown sslmode '\(other)'")
        }
        return PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: username, password: password, database: databaseName, tls: tls)
    }

    private static var unverified: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return configuration
    }

    /// The URL with its password replaced, for logs.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text) else { return "postgres://…" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "postgres://…"
    }
}
