import Foundation
import Hummingbird
import KaitoAPIModels
import KaitoCore
import NIOCore

/// `GET /v1/audit` and `GET /v1/audit/export` (docs/api.md#audit-log).
struct AuditController {
    let audit: AuditService

    static let exportBatch = 500

    func register(on api: APIRouter) {
        api.add(.get, "/v1/audit", scope: .auditRead, summary: "Audit events, newest first, with filters",
            doc: .init(status: 200, response: "AuditEventList", query: OperationDoc.auditFilters + OperationDoc.page)) { request, context, caller in
            let query = context.query
            let filter = try Self.filter(query)
            let limit = try query.integer("limit", in: PageLimits.range) ?? PageLimits.defaultLimit
            var before: Int?
            if let cursor = query["cursor"] {
                guard let decoded = Cursor.decode(cursor), let seq = Int(decoded) else {
                    throw KaitoError(.malformedRequest, "The cursor is not one this server issued.")
                }
                before = seq
            }
            let page = try await audit.list(by: caller, filter: filter, beforeSeq: before, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: { String($0.seq) }, AuditEventResponse.init))
        }
        api.add(.get, "/v1/audit/export", scope: .auditRead, summary: "Audit events in chain order as JSON Lines (streamed)",
            doc: .init(status: 200, content: "application/x-ndjson", query: OperationDoc.auditFilters)) { request, context, caller in
            let filter = try Self.filter(context.query)
            let audit = self.audit
            // Streamed a batch at a time: constant memory however many events match.
            let body = ResponseBody { writer in
                var after = 0
                let encoder = KaitoJSONEncoder.json
                while true {
                    let events = try await audit.batch(by: caller, filter: filter, afterSeq: after, limit: Self.exportBatch)
                    guard let last = events.last else { break }
                    var buffer = ByteBuffer()
                    for event in events {
                        buffer.writeBytes(try encoder.encode(AuditEventResponse(event)))
                        buffer.writeInteger(UInt8(ascii: "\n"))
                    }
                    try await writer.write(buffer)
                    after = last.seq
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
        }
    }

    static func filter(_ query: QueryParameters) throws -> AuditFilter {
        try filter { query[$0] }
    }

    /// The filter named by `parameter` (the API's query, or the dashboard's form).
    static func filter(_ parameter: (String) -> String?) throws -> AuditFilter {
        var filter = AuditFilter()
        if let action = parameter("action") {
            try AuditService.validateActionFilter(action)
            filter.action = action
        }
        filter.actorID = parameter("actor")
        filter.targetID = parameter("target")
        if let outcome = parameter("outcome") {
            guard let parsed = AuditEvent.Outcome(rawValue: outcome) else {
                throw KaitoError(.malformedRequest, "outcome must be success or denied.")
            }
            filter.outcome = parsed
        }
        if let flagged = parameter("flagged") {
            guard let parsed = Bool(flagged) else { throw KaitoError(.malformedRequest, "flagged must be true or false.") }
            filter.flagged = parsed
        }
        for (name, keyPath) in [("since", \AuditFilter.since), ("until", \AuditFilter.until)] {
            if let text = parameter(name) {
                guard let date = Timestamp.parse(text) else {
                    throw KaitoError(.malformedRequest, "\(name) must be an RFC 3339 timestamp.")
                }
                filter[keyPath: keyPath] = date
            }
        }
        return filter
    }
}

extension AuditEventResponse {
    init(_ event: AuditEvent) {
        self.init(
            id: event.id, seq: event.seq, at: Timestamp.format(event.at),
            actor: .init(type: event.actor.type, id: event.actor.id, name: event.actor.name),
            action: event.action.rawValue, target: event.target.map { .init(type: $0.type, id: $0.id) },
            outcome: event.outcome.rawValue, reason: event.reason, ip: event.ip, userAgent: event.userAgent,
            requestID: event.requestID, flagged: event.flagged, hash: event.hash, prevHash: event.prevHash, count: event.count
        )
    }
}
