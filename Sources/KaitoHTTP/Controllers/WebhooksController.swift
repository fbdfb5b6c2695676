import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `/v1/webhooks` (docs/api.md#webhooks).
struct WebhooksController {
    let webhooks: WebhookService

    func register(on api: APIRouter) {
        let fields = WebhookRequest.CodingKeys.allCases.map(\.rawValue)
        api.add(.post, "/v1/webhooks", scope: .orgAdmin, summary: "Register a webhook endpoint; its secret is in this response only",
            doc: .init(status: 201, response: "Webhook", request: "CreateWebhookRequest")) { request, context, caller in
            let body = try await RequestBody.decode(WebhookRequest.self, from: request, context: context, allowedFields: fields)
            let (endpoint, secret) = try await webhooks.create(WebhookService.Draft(body), by: caller)
            var response = try context.responseEncoder.encode(WebhookResponse(endpoint, secret: secret), status: .created)
            response.headers[.location] = "/v1/webhooks/\(endpoint.id)"
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.add(.get, "/v1/webhooks", scope: .orgAdmin, summary: "List webhook endpoints",
            doc: .init(status: 200, response: "WebhookList", query: OperationDoc.page)) { request, context, caller in
            let (limit, after) = try context.query.pagination()
            let page = try await webhooks.list(by: caller, after: after, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: \.id) { WebhookResponse($0) })
        }
        api.add(.get, "/v1/webhooks/{id}", scope: .orgAdmin, summary: "Read a webhook endpoint",
            doc: .init(status: 200, response: "Webhook")) { request, context, caller in
            return try context.responseEncoder.encode(WebhookResponse(try await webhooks.get(id: id(context), by: caller)))
        }
        api.add(.patch, "/v1/webhooks/{id}", scope: .orgAdmin, summary: "Change a webhook endpoint (url, topics, audit_actions, description, enabled)",
            doc: .init(status: 200, response: "Webhook", request: "UpdateWebhookRequest")) { request, context, caller in
            let body = try await RequestBody.decode(WebhookRequest.self, from: request, context: context, allowedFields: fields)
            return try context.responseEncoder.encode(WebhookResponse(try await webhooks.update(id: id(context), WebhookService.Draft(body), by: caller)))
        }
        api.add(.delete, "/v1/webhooks/{id}", scope: .orgAdmin, summary: "Delete a webhook endpoint and its deliveries",
            doc: .init(status: 204)) { request, context, caller in
            try await webhooks.delete(id: id(context), by: caller)
            return Response(status: .noContent)
        }
        api.add(.post, "/v1/webhooks/{id}/rotate-secret", scope: .orgAdmin, summary: "A new secret; the old one keeps signing beside it for 24 hours",
            doc: .init(status: 200, response: "Webhook")) { request, context, caller in
            let (endpoint, secret) = try await webhooks.rotateSecret(id: id(context), by: caller)
            var response = try context.responseEncoder.encode(WebhookResponse(endpoint, secret: secret))
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.add(.post, "/v1/webhooks/{id}/test", scope: .orgAdmin, summary: "Queue a webhook.test delivery",
            doc: .init(status: 202, response: "WebhookDelivery")) { request, context, caller in
            let delivery = try await webhooks.sendTest(id: id(context), by: caller)
            return try context.responseEncoder.encode(WebhookDeliveryResponse(delivery, attempts: []), status: .accepted)
        }
        api.add(.get, "/v1/webhooks/{id}/deliveries", scope: .orgAdmin, summary: "Deliveries, newest first, with every attempt",
            doc: .init(status: 200, response: "WebhookDeliveryList", query: OperationDoc.page)) { request, context, caller in
            let (limit, after) = try context.query.pagination()
            let page = try await webhooks.deliveries(endpointID: id(context), by: caller, after: after, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: { $0.0.id }) { WebhookDeliveryResponse($0.0, attempts: $0.1) })
        }
        api.add(.post, "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", scope: .orgAdmin, summary: "Send a delivery again now, same webhook-id",
            doc: .init(status: 202, response: "WebhookDelivery")) { request, context, caller in
            let delivery = try await webhooks.retry(endpointID: id(context), deliveryID: context.parameters.get("delivery_id") ?? "", by: caller)
            return try context.responseEncoder.encode(WebhookDeliveryResponse(delivery, attempts: []), status: .accepted)
        }
    }

    private func id(_ context: KaitoRequestContext) -> String { context.parameters.get("id") ?? "" }
}

extension WebhookService.Draft {
    init(_ body: WebhookRequest) {
        self.init(url: body.url, topics: body.topics, auditActions: body.auditActions, description: body.description, enabled: body.enabled)
    }
}

extension WebhookResponse {
    init(_ endpoint: WebhookEndpoint, secret: WebhookSecret? = nil) {
        self.init(
            id: endpoint.id, url: endpoint.url, topics: endpoint.topics.map(\.rawValue), auditActions: endpoint.auditActions,
            description: endpoint.description, enabled: endpoint.disabledAt == nil, disabledReason: endpoint.disabledReason,
            createdAt: Timestamp.format(endpoint.createdAt), updatedAt: Timestamp.format(endpoint.updatedAt), secret: secret?.text
        )
    }
}

extension WebhookDeliveryResponse {
    init(_ delivery: WebhookDelivery, attempts: [WebhookAttempt]) {
        self.init(
            id: delivery.id, type: delivery.type, status: delivery.status.rawValue, createdAt: Timestamp.format(delivery.createdAt),
            nextAttemptAt: delivery.nextAttemptAt.map(Timestamp.format),
            attempts: attempts.map {
                .init(number: $0.number, at: Timestamp.format($0.at), statusCode: $0.statusCode, latencyMS: $0.latencyMilliseconds,
                      error: $0.error, nextAttemptAt: $0.nextAttemptAt.map(Timestamp.format))
            }
        )
    }
}
