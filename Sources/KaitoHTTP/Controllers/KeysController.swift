import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `/v1/keys` (API.md §4).
struct KeysController {
    let keys: KeyService

    func register(on api: APIRouter) {
        api.add(.post, "/v1/keys", scope: .orgAdmin, summary: "Create a key; the key is in this response only") { request, context, caller in
            let body = try await RequestBody.decode(
                CreateKeyRequest.self, from: request, context: context,
                allowedFields: CreateKeyRequest.CodingKeys.allCases.map(\.rawValue))
            let draft = try KeyService.Draft.validated(name: body.name, scopes: body.scopes)
            let (key, secret) = try await keys.create(draft, by: caller)
            var response = try JSONCoding.response(KeyResponse(key, secret: secret), status: .created)
            response.headers[.location] = "/v1/keys/\(key.id)"
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.add(.get, "/v1/keys", scope: .orgAdmin, summary: "List the organisation's keys") { request, _, caller in
            let (limit, after) = try QueryParameters(request, allowed: QueryParameters.paginationNames).pagination()
            let page = try await keys.list(by: caller, after: after, limit: limit)
            return try JSONCoding.response(page.response(cursor: \.id) { KeyResponse($0) })
        }
        // Registered before /v1/keys/{id} so that "self" is never taken for an id.
        api.addForAnyKey(.get, "/v1/keys/self", summary: "The calling key's own metadata") { request, _, caller in
            _ = try QueryParameters(request, allowed: [])
            return try JSONCoding.response(KeyResponse(caller.key))
        }
        api.add(.get, "/v1/keys/{id}", scope: .orgAdmin, summary: "Read a key's metadata") { request, context, caller in
            _ = try QueryParameters(request, allowed: [])
            let key = try await keys.get(id: context.parameters.get("id") ?? "", by: caller)
            return try JSONCoding.response(KeyResponse(key))
        }
        api.add(.delete, "/v1/keys/{id}", scope: .orgAdmin, summary: "Revoke a key at once") { request, context, caller in
            _ = try QueryParameters(request, allowed: [])
            try await keys.revoke(id: context.parameters.get("id") ?? "", by: caller)
            return Response(status: .noContent)
        }
    }
}
