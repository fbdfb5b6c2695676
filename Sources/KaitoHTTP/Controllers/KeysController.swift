import Foundation
import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `/v1/keys` (docs/api.md#keys).
struct KeysController {
    let keys: KeyService
    let rateLimits: any RateLimitStore
    let clock: any KaitoClock

    func register(on api: APIRouter) {
        api.add(.post, "/v1/keys", scope: .orgAdmin, summary: "Create a key; the key is in this response only",
            doc: .init(status: 201, response: "Key", request: "CreateKeyRequest", problems: [.planRequired, .notFound, .insufficientScope])) { request, context, caller in
            let body = try await RequestBody.decode(
                CreateKeyRequest.self, from: request, context: context,
                allowedFields: CreateKeyRequest.CodingKeys.allCases.map(\.rawValue))
            let draft = try KeyDraft.validated(
                name: body.name, scopes: body.scopes, allowedCIDRs: body.allowedCIDRs, expiresAt: body.expiresAt,
                singleUse: body.singleUse, tokenSlugs: body.tokenSlugs,
                rateLimits: body.rateLimits.map { RateLimitOverrides(code: $0.code, read: $0.read, write: $0.write) },
                now: clock.now()
            )
            var issued = draft
            issued.userID = body.userID
            let (key, secret) = try await keys.create(issued, by: caller)
            var response = try context.responseEncoder.encode(KeyResponse(key, secret: secret), status: .created)
            response.headers[.location] = "/v1/keys/\(key.id)"
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.add(.get, "/v1/keys", scope: .orgAdmin, summary: "List the organisation's keys",
            doc: .init(status: 200, response: "KeyList", query: OperationDoc.page)) { request, context, caller in
            let (limit, after) = try context.query.pagination()
            let page = try await keys.list(by: caller, after: after, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: \.id) { KeyResponse($0) })
        }
        // Registered before /v1/keys/{id} so that "self" is never taken for an id.
        api.addForAnyKey(.get, "/v1/keys/self", summary: "The calling key's own metadata and rate-limit standing",
            doc: .init(status: 200, response: "Key")) { request, context, caller in
            let key = try await keys.current(caller)
            var body = KeyResponse(key)
            var standing: [String: RateLimitStanding] = [:]
            for group in RateLimitGroup.allCases {
                let decision = try await rateLimits.peek(for: key, group: group, at: clock.now())
                standing[group.rawValue] = RateLimitStanding(
                    limit: decision.limit, remaining: decision.remaining, reset: RateLimitDecision.seconds(decision.resetAfter))
            }
            body.rateLimitStanding = standing
            return try context.responseEncoder.encode(body)
        }
        api.add(.get, "/v1/keys/{id}", scope: .orgAdmin, summary: "Read a key's metadata",
            doc: .init(status: 200, response: "Key")) { request, context, caller in
            let key = try await keys.get(id: context.parameters.get("id") ?? "", by: caller)
            return try context.responseEncoder.encode(KeyResponse(key))
        }
        api.add(.patch, "/v1/keys/{id}", scope: .orgAdmin, summary: "Change a key's name, networks, expiry or token binding",
            doc: .init(status: 200, response: "Key", request: "UpdateKeyRequest", problems: [.insufficientScope, .tokenNotAllowed])) { request, context, caller in
            let body = try await RequestBody.decode(
                UpdateKeyRequest.self, from: request, context: context,
                allowedFields: UpdateKeyRequest.CodingKeys.allCases.map(\.rawValue), nullable: ["allowed_cidrs", "expires_at", "token_slugs"])
            var change = KeyChange()
            if case .given(let name?) = body.name { change.name = name }
            if case .given(let value) = body.allowedCIDRs { change.allowedCIDRs = .set(value) }
            if case .given(let value) = body.expiresAt { change.expiresAt = .set(value) }
            if case .given(let value) = body.tokenSlugs { change.tokenSlugs = .set(value) }
            let key = try await keys.update(id: context.parameters.get("id") ?? "", change, by: caller)
            return try context.responseEncoder.encode(KeyResponse(key))
        }
        api.add(.delete, "/v1/keys/{id}", scope: .orgAdmin, summary: "Revoke a key at once",
            doc: .init(status: 204, problems: [.insufficientScope, .tokenNotAllowed])) { request, context, caller in
            try await keys.revoke(id: context.parameters.get("id") ?? "", by: caller)
            return Response(status: .noContent)
        }
    }
}
