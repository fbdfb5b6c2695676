import NIOConcurrencyHelpers
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

    /// The metrics of one route, asked for once, when the route is registered (the registry is not searched per request).
    func route(_ path: String, method: String) -> RouteMetrics {
        RouteMetrics(registry: registry, route: path, method: method)
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String { registry.emitToString() }
}

/// One route's latency histogram and its request counters by status and scope outcome: the registry's own metrics
/// (the same objects `makeCounter` and `makeDurationHistogram` return for these labels), kept at hand. Each is made
/// on the route's first request that needs it, as before: a route nobody called has no series in the exposition.
final class RouteMetrics: Sendable {
    private struct Key: Hashable {
        let status: Int
        let outcome: HTTPMetrics.ScopeOutcome
    }

    private struct Made {
        var duration: DurationHistogram?
        var counters: [Key: Counter] = [:]
    }

    private let registry: PrometheusCollectorRegistry
    private let route: String
    private let method: String
    private let made = NIOLockedValueBox(Made())

    init(registry: PrometheusCollectorRegistry, route: String, method: String) {
        self.registry = registry
        self.route = route
        self.method = method
    }

    func record(status: Int, outcome: HTTPMetrics.ScopeOutcome, duration: Duration) {
        let key = Key(status: status, outcome: outcome)
        let (counter, histogram) = made.withLockedValue { made -> (Counter, DurationHistogram) in
            if let counter = made.counters[key], let histogram = made.duration { return (counter, histogram) }
            let counter = made.counters[key] ?? registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "kaito", metricName: "http_requests", unitName: "total",
                    helpText: "HTTP requests by route, method, status and scope outcome"),
                labels: [("route", route), ("method", method), ("status", String(status)), ("scope_outcome", outcome.rawValue)]
            )
            made.counters[key] = counter
            let histogram = made.duration ?? registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(
                    namespace: "kaito", metricName: "http_request_duration", unitName: "seconds",
                    helpText: "HTTP request latency by route and method"),
                labels: [("route", route), ("method", method)],
                buckets: HTTPMetrics.buckets
            )
            made.duration = histogram
            return (counter, histogram)
        }
        counter.increment()
        histogram.record(duration)
    }
}
