import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import KaitoCore
import KaitoWorkers
import Logging
import ServiceLifecycle

/// The HTTP application: the composition root that `kaito serve` and the tests both call.
public struct KaitoApplication {
    public let router: Router<KaitoRequestContext>
    public let routes: [RouteDescription]
    public let metrics: HTTPMetrics
    /// Proxies whose connections carry many clients: not held to the per-client connection limit.
    let trustedProxies: [CIDR]

    /// Builds the router with every controller over `runtime`.
    public init(runtime: Runtime, trustedProxies: [CIDR] = [], publicURL: String? = nil, metrics: HTTPMetrics = HTTPMetrics()) {
        let router = Router(context: KaitoRequestContext.self)
        let api = APIRouter(
            router: router, keys: runtime.keys, metrics: metrics, rateLimits: runtime.storage.rateLimits,
            clock: runtime.clock, clientAddress: ClientAddress(trustedProxies: trustedProxies)
        )
        router.add(middleware: RequestIDMiddleware(random: runtime.random))
        router.add(middleware: ProblemMiddleware(allowedMethods: { [api] path in api.allowedMethods(path: path) }))
        OperationsController(storage: runtime.storage, metrics: metrics).register(on: api)
        TokensController(tokens: runtime.tokens).register(on: api)
        KeysController(keys: runtime.keys, rateLimits: runtime.storage.rateLimits, clock: runtime.clock).register(on: api)
        AuditController(audit: runtime.audit).register(on: api)
        WebhooksController(webhooks: runtime.webhooks).register(on: api)
        SMSController(sms: runtime.sms).register(on: api)
        OrganizationController(organizations: runtime.organizations).register(on: api)
        TwilioCallbackController(sms: runtime.sms, publicURL: publicURL).register(on: api)
        DashboardController(
            runtime: runtime, clientAddress: ClientAddress(trustedProxies: trustedProxies),
            secureCookies: publicURL?.lowercased().hasPrefix("https://") ?? false
        ).register(on: router)
        // Generated from the complete route table (this route included) when asked for; rarely called.
        api.addUnauthenticated(.get, "/v1/openapi.json", summary: "The OpenAPI 3.1 document of this API") { [api] _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.json(routes: api.routes)))
            )
        }
        self.router = router
        self.trustedProxies = trustedProxies
        self.routes = api.routes
        self.metrics = metrics
    }

    /// The runnable server on `host:port`, with the storage closed on graceful shutdown.
    public func application(
        runtime: Runtime, host: String, port: Int, logger: Logger, auditRetentionDays: Int? = nil, http: HTTPLimits = HTTPLimits(),
        dispatchWebhooks: Bool = true, sendSMS: SMSSending? = nil, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        // Services stop in reverse order: the storage closes last, after the dispatcher has stopped.
        var services: [any Service] = [StorageCloser(storage: runtime.storage), DenialFlushService(audit: runtime.audit, logger: logger)]
        if dispatchWebhooks {
            services.append(WebhookDispatcher(
                storage: runtime.storage, keyring: runtime.keyring, clock: runtime.clock, random: runtime.random,
                policy: runtime.webhookPolicy, resolver: runtime.resolver, logger: logger))
        }
        if let sendSMS {
            services.append(SMSSender(sms: runtime.sms, logger: logger, twilioAPIBase: sendSMS.twilioAPIBase, publicURL: sendSMS.publicURL))
        }
        if let days = auditRetentionDays {
            services.append(AuditRetentionService(audit: runtime.audit, retentionDays: days, clock: runtime.clock, logger: logger))
        }
        let (readTimeout, idleTimeout) = (TimeAmount(http.readTimeout), TimeAmount(http.idleTimeout))
        let perClient = ConnectionCounter(limit: http.maxConnectionsPerClient, exempt: trustedProxies)
        return Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionsPerClient(counter: perClient), RequestReadDeadline(timeout: readTimeout)],
                idleTimeout: idleTimeout)),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "kaito",
                availableConnectionsDelegate: MaximumAvailableConnections(http.maxConnections, logger: logger)),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}

/// Where the SMS sender service sends: Twilio's API base and the public URL for status callbacks.
public struct SMSSending: Sendable {
    public var twilioAPIBase: String?
    public var publicURL: String?

    public init(twilioAPIBase: String?, publicURL: String?) {
        self.twilioAPIBase = twilioAPIBase
        self.publicURL = publicURL
    }
}

/// Closes the database after the server has stopped.
struct StorageCloser: Service {
    let storage: any Storage

    func run() async throws {
        try? await gracefulShutdown()
        try await storage.close()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
