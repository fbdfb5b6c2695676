import Foundation
import KaitoCore

/// Everything `kaito serve` and the operator commands are configured with (API.md §10).
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Where the SQLite database and the generated master key live.
    public var dataDirectory: String
    /// `postgres://...` for PostgreSQL; nil for SQLite in the data directory.
    public var databaseURL: String?
    /// The base64 master key from `KAITO_MASTER_KEY`; nil to use (or create) `<data-dir>/master.key`.
    public var masterKeyBase64: String?
    /// Proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`, `KAITO_TRUSTED_PROXIES`).
    public var trustedProxies: [CIDR]
    /// Ranges webhooks may be delivered to although they are private (`KAITO_WEBHOOK_ALLOW_PRIVATE`).
    public var webhookAllowedCIDRs: [CIDR] = []
    /// The URL the server is reached at from outside (`KAITO_PUBLIC_URL`), against which providers' callback
    /// signatures are checked; nil to use `http://` and the request's `Host`.
    public var publicURL: String?
    /// Twilio's API base (`KAITO_TWILIO_API_BASE`), for a Twilio-compatible API in tests; nil for Twilio's own.
    public var twilioAPIBase: String?
    /// Audit events older than this many days are pruned (`KAITO_AUDIT_RETENTION_DAYS`); nil keeps everything.
    public var auditRetentionDays: Int?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, dataDirectory: String = "./kaito-data",
        databaseURL: String? = nil, masterKeyBase64: String? = nil, trustedProxies: [CIDR] = []
    ) {
        self.trustedProxies = trustedProxies
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.masterKeyBase64 = masterKeyBase64
    }

    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("kaito.sqlite") }
    public var masterKeyPath: String { (dataDirectory as NSString).appendingPathComponent("master.key") }
    public var bootstrapKeyPath: String { (dataDirectory as NSString).appendingPathComponent("bootstrap-admin.key") }
}
