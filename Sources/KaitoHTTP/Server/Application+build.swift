import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import KaitoCore
import KaitoWorkers
import Logging
import ServiceLifecycle

/// The application that `kaito serve` runs and every HTTP test runs: the one composition root. Everything comes from
/// `runtime` (opened by `Runtime.open` with the configuration and dependencies) and `configuration` (address, proxies,
/// public URL, limits, retention, Twilio's API base).
/// - Parameters:
///   - dispatchWebhooks: false in tests that drive the dispatcher step by step with their pinned clock.
///   - sendSMS: false in tests that send nothing.
public func buildApplication(
    runtime: Runtime, configuration: ServerConfiguration, logger: Logger, dispatchWebhooks: Bool = true, sendSMS: Bool = true,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let routes = KaitoRoutes(runtime: runtime, trustedProxies: configuration.trustedProxies, publicURL: configuration.publicURL)
    // Services stop in reverse order: the storage closes last, after the dispatcher has stopped.
    var services: [any Service] = [StorageCloser(storage: runtime.storage), DenialFlushService(audit: runtime.audit, logger: logger)]
    if dispatchWebhooks {
        services.append(WebhookDispatcher(
            work: runtime.work, keyring: runtime.keyring, clock: runtime.clock, random: runtime.random,
            policy: runtime.webhookPolicy, resolver: runtime.resolver, logger: logger))
    }
    if sendSMS {
        services.append(SMSSender(sms: runtime.sms, logger: logger, twilioAPIBase: configuration.twilioAPIBase, publicURL: configuration.publicURL))
    }
    services.append(RetentionService(
        audit: runtime.audit, retentionDays: configuration.auditRetentionDays, idempotency: runtime.idempotency, webhooks: runtime.webhooks,
        clock: runtime.clock, logger: logger))
    let http = configuration.http
    let (readTimeout, idleTimeout) = (TimeAmount(http.readTimeout), TimeAmount(http.idleTimeout))
    let perClient = ConnectionCounter(limit: http.maxConnectionsPerClient, exempt: configuration.trustedProxies)
    return Application(
        router: routes.router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionsPerClient(counter: perClient), RequestReadDeadline(timeout: readTimeout)],
            idleTimeout: idleTimeout)),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "kaito",
            availableConnectionsDelegate: MaximumAvailableConnections(http.maxConnections, logger: logger)),
        services: services,
        onServerRunning: onServerRunning,
        logger: logger
    )
}

/// The router with every controller over a runtime, and the route table the OpenAPI document is built from.
public struct KaitoRoutes {
    public let router: Router<KaitoRequestContext>
    public let routes: [RouteDescription]
    public let metrics: HTTPMetrics

    public init(runtime: Runtime, trustedProxies: [CIDR] = [], publicURL: String? = nil, metrics: HTTPMetrics = HTTPMetrics()) {
        let router = Router(context: KaitoRequestContext.self)
        let api = APIRouter(
            router: router, keys: runtime.keys, metrics: metrics, rateLimits: runtime.storage.rateLimits,
            clock: runtime.clock, clientAddress: ClientAddress(trustedProxies: trustedProxies), idempotency: runtime.idempotency
        )
        router.add(middleware: RequestIDMiddleware(random: runtime.random))
        router.add(middleware: ProblemMiddleware(allowedMethods: { [api] path in api.allowedMethods(path: path) }))
        OperationsController(storage: runtime.storage, metrics: metrics).register(on: api)
        TokensController(tokens: runtime.tokens).register(on: api)
        KeysController(keys: runtime.keys, rateLimits: runtime.storage.rateLimits, clock: runtime.clock).register(on: api)
        AuditController(audit: runtime.audit).register(on: api)
        WebhooksController(webhooks: runtime.webhooks).register(on: api)
        SMSController(sms: runtime.sms).register(on: api)
        OrganizationController(organizations: runtime.organizations, users: runtime.users, billing: runtime.billing).register(on: api)
        TwilioCallbackController(sms: runtime.sms, publicURL: publicURL).register(on: api)
        let pages = DashboardShared(
            signIn: runtime.signIn, rateLimits: runtime.storage.rateLimits, clock: runtime.clock, random: runtime.random,
            clientAddress: ClientAddress(trustedProxies: trustedProxies), pageFlash: PageFlash(master: runtime.keyring.master),
            secureCookies: publicURL?.lowercased().hasPrefix("https://") ?? false)
        DashboardController(
            shared: pages, tokens: runtime.tokens, keys: runtime.keys, organizations: runtime.organizations, users: runtime.users, billing: runtime.billing,
            audit: runtime.audit,
            webhooks: runtime.webhooks, sms: runtime.sms, pageViews: PageViewTicket(master: runtime.keyring.master)
        ).register(on: router)
        // Built once, from the complete route table (this route included), right after this last route is added.
        let document = ServedDocument.Slot()
        api.addUnauthenticated(.get, "/v1/openapi.json", summary: "The OpenAPI 3.1 document of this API",
            doc: .init(status: 200, content: "application/json")) { request, _ in
            try document.response(to: request)
        }
        document.fill(try? ServedDocument(json: OpenAPIDocument.json(routes: api.routes)))
        self.router = router
        self.routes = api.routes
        self.metrics = metrics
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
