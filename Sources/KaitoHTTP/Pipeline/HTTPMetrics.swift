import Prometheus

/// Request counts by route, method, status and scope outcome, and latency histograms by route, kept in the
/// application's own Prometheus registry (no global metrics system, so several applications can coexist in tests).
public struct HTTPMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// How a request fared against its route's access rule.
    enum ScopeOutcome: String {
        case granted, denied, limited, unauthenticated, `public`
    }

    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(5), .seconds(30), .seconds(60),
    ]

    func record(route: String, method: String, status: Int, outcome: ScopeOutcome, duration: Duration) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "kaito", metricName: "http_requests", unitName: "total",
                helpText: "HTTP requests by route, method, status and scope outcome"),
            labels: [("route", route), ("method", method), ("status", String(status)), ("scope_outcome", outcome.rawValue)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "kaito", metricName: "http_request_duration", unitName: "seconds",
                helpText: "HTTP request latency by route and method"),
            labels: [("route", route), ("method", method)],
            buckets: Self.buckets
        ).record(duration)
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String { registry.emitToString() }
}
