import Foundation
import KaitoCore

/// Everything `kaito serve` and the operator commands are configured with (docs/configuration.md).
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
    /// The longest a request waits for the database before it is 503 `unavailable` (`KAITO_DATABASE_TIMEOUT`):
    /// SQLite's busy timeout, and every wait for PostgreSQL (a pooled connection, a statement).
    public var databaseTimeout: Duration = .seconds(5)
    /// Connection limits of the HTTP server.
    public var http = HTTPLimits()

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

/// What keeps idle and slow clients from holding the server's connections (`KAITO_HTTP_*`, `KAITO_MAX_CONNECTIONS`).
public struct HTTPLimits: Sendable, Equatable {
    /// A connection with no request in progress is closed after this long; that includes one still sending a
    /// request's head, so it also bounds how long the head may take (`KAITO_HTTP_IDLE_TIMEOUT`).
    public var idleTimeout: Duration = .seconds(30)
    /// From a request's head to the end of its body at most this long, however steadily the bytes trickle in
    /// (`KAITO_HTTP_READ_TIMEOUT`).
    public var readTimeout: Duration = .seconds(15)
    /// Open connections at most; further ones wait in the listen backlog (`KAITO_MAX_CONNECTIONS`). The default stays
    /// below the process's file-descriptor limit, so that the database and the log always get one.
    public var maxConnections: Int = HTTPLimits.defaultMaxConnections
    /// Open connections of one client address at most, trusted proxies excepted (`KAITO_MAX_CONNECTIONS_PER_CLIENT`).
    public var maxConnectionsPerClient: Int = 64

    public init() {}

    /// 1,024, or less when the soft `RLIMIT_NOFILE` leaves fewer than 1,024 + 64 descriptors.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        #if os(Linux)
        let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        let status = getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        guard status == 0, limit.rlim_cur != rlim_t.max else { return 1024 }
        return max(16, min(1024, Int(clamping: limit.rlim_cur) - 64))
    }
}
