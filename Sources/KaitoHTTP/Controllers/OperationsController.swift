import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `GET /health`, `GET /ready` and `GET /metrics` (docs/api.md#operations-endpoints), unauthenticated.
struct OperationsController {
    let storage: any Storage
    let metrics: HTTPMetrics

    func register(on api: APIRouter) {
        api.addUnauthenticated(.get, "/health", summary: "The process is alive",
            doc: .init(status: 200, response: "Health")) { _, context in
            try context.responseEncoder.encode(["status": "ok", "version": KaitoVersion.current])
        }
        api.addUnauthenticated(.get, "/ready", summary: "The database is reachable",
            doc: .init(status: 200, response: "Ready", problems: [.unavailable])) { _, context in
            guard await storage.isReachable() else {
                throw KaitoError(.unavailable, "The database is not reachable.")
            }
            return try context.responseEncoder.encode(["status": "ready"])
        }
        api.addUnauthenticated(.get, "/problems/{code}", summary: "What a problem document's type names: its code's title, status and meaning",
            doc: .init(status: 200, response: "ProblemType", problems: [.notFound])) { _, context in
            let name = context.parameters.get("code") ?? ""
            guard let code = KaitoError.Code.all.first(where: { $0.rawValue == name }) else { throw KaitoError.notFound("The problem type") }
            struct ProblemType: Encodable {
                let code: String, title: String, status: Int, meaning: String, reference: String
            }
            var response = try context.responseEncoder.encode(ProblemType(
                code: code.rawValue, title: ProblemTable.title(for: code), status: Int(ProblemTable.status(for: code).code),
                meaning: ProblemTable.meaning(of: code), reference: "docs/api.md#\(code.rawValue)"))
            response.headers[.cacheControl] = "public, max-age=86400"
            return response
        }
        api.addUnauthenticated(.get, "/metrics", summary: "Prometheus metrics",
            doc: .init(status: 200, content: "text/plain")) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition() + Self.exposition(storage.counters())))
            )
        }
    }

    /// The storage's counters in the Prometheus text format, as `kaito_storage_<name>`.
    static func exposition(_ counters: [StorageCounter]) -> String {
        counters.map { counter in
            let name = "kaito_storage_\(counter.name)"
            return "# HELP \(name) \(counter.help)\n# TYPE \(name) counter\n\(name) \(counter.value)\n"
        }.joined()
    }
}
