import ArgumentParser
import Foundation
import KaitoCore
import KaitoHTTP

/// The settings every server-side command takes (`serve`, `admin`), each also from the environment.
struct ServerOptions: ParsableArguments {
    @Option(help: "Listen address (env KAITO_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Listen port (env KAITO_PORT, default 8080).")
    var port: Int?

    @Option(name: .customLong("data-dir"), help: "Data directory for SQLite and the generated master key (env KAITO_DATA_DIR, default ./kaito-data).")
    var dataDir: String?

    @Option(name: .customLong("database-url"), help: "postgres://... to use PostgreSQL (env KAITO_DATABASE_URL); default SQLite in the data directory.")
    var databaseURL: String?

    @Option(name: .customLong("trusted-proxies"), help: "Comma-separated CIDRs of proxies whose X-Forwarded-For is believed (env KAITO_TRUSTED_PROXIES).")
    var trustedProxies: String?

    /// The configuration: options first, then `KAITO_*` environment variables, then defaults.
    /// The master key comes only from `KAITO_MASTER_KEY` (never a command-line argument) or the key file.
    func configuration() throws -> ServerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerConfiguration()
        configuration.host = host ?? environment["KAITO_HOST"] ?? configuration.host
        if let port = port ?? environment["KAITO_PORT"].flatMap({ Int($0) }) {
            guard (0...65535).contains(port) else { throw CLIError(message: "the port must be 0 to 65535", exitCode: 2) }
            configuration.port = port
        }
        configuration.dataDirectory = dataDir ?? environment["KAITO_DATA_DIR"] ?? configuration.dataDirectory
        configuration.databaseURL = databaseURL ?? environment["KAITO_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.masterKeyBase64 = environment["KAITO_MASTER_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let days = environment["KAITO_AUDIT_RETENTION_DAYS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let value = Int(days), value > 0 else {
                throw CLIError(message: "KAITO_AUDIT_RETENTION_DAYS must be a whole number of days above 0", exitCode: 2)
            }
            configuration.auditRetentionDays = value
        }
        func seconds(_ value: String?, _ name: String, in range: ClosedRange<Double>) throws -> Duration? {
            guard let text = value.flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
            guard let value = Double(text), range.contains(value) else {
                throw CLIError(message: "\(name) must be a number of seconds from \(range.lowerBound) to \(range.upperBound)", exitCode: 2)
            }
            return .milliseconds(Int64(value * 1000))
        }
        configuration.databaseTimeout = try seconds(environment["KAITO_DATABASE_TIMEOUT"], "KAITO_DATABASE_TIMEOUT", in: 0.1...300) ?? configuration.databaseTimeout
        configuration.http.idleTimeout = try seconds(environment["KAITO_HTTP_IDLE_TIMEOUT"], "KAITO_HTTP_IDLE_TIMEOUT", in: 1...3600) ?? configuration.http.idleTimeout
        configuration.http.readTimeout = try seconds(environment["KAITO_HTTP_READ_TIMEOUT"], "KAITO_HTTP_READ_TIMEOUT", in: 1...3600) ?? configuration.http.readTimeout
        if let text = environment["KAITO_MAX_CONNECTIONS"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let value = Int(text), (1...1_000_000).contains(value) else {
                throw CLIError(message: "KAITO_MAX_CONNECTIONS must be a whole number from 1 to 1000000", exitCode: 2)
            }
            configuration.http.maxConnections = value
        }
        if let text = environment["KAITO_MAX_CONNECTIONS_PER_CLIENT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let value = Int(text), (1...1_000_000).contains(value) else {
                throw CLIError(message: "KAITO_MAX_CONNECTIONS_PER_CLIENT must be a whole number from 1 to 1000000", exitCode: 2)
            }
            configuration.http.maxConnectionsPerClient = value
        }
        if let url = environment["KAITO_PUBLIC_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let parsed = URLComponents(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host?.isEmpty == false,
                  parsed.query == nil else {
                throw CLIError(message: "KAITO_PUBLIC_URL must be an http(s) URL such as https://kaito.example", exitCode: 2)
            }
            configuration.publicURL = url
        }
        if let base = environment["KAITO_TWILIO_API_BASE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let parsed = URLComponents(string: base), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host?.isEmpty == false else {
                throw CLIError(message: "KAITO_TWILIO_API_BASE must be an http(s) URL", exitCode: 2)
            }
            configuration.twilioAPIBase = base
        }
        configuration.webhookAllowedCIDRs = try (environment["KAITO_WEBHOOK_ALLOW_PRIVATE"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { text in
                guard let cidr = CIDR(text) else { throw CLIError(message: "KAITO_WEBHOOK_ALLOW_PRIVATE: '\(text)' is not a CIDR", exitCode: 2) }
                return cidr
            }
        let proxies = (trustedProxies ?? environment["KAITO_TRUSTED_PROXIES"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        configuration.trustedProxies = try proxies.map { text in
            guard let cidr = CIDR(text) else { throw CLIError(message: "--trusted-proxies: '\(text)' is not a CIDR", exitCode: 2) }
            return cidr
        }
        return configuration
    }
}
