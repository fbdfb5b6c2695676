import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `/v1/tokens` (docs/api.md#tokens).
struct TokensController {
    let tokens: TokenService

    func register(on api: APIRouter) {
        api.add(.post, "/v1/tokens", scope: .tokensWrite, summary: "Create a token from a base32 secret or an otpauth URI",
            doc: .init(status: 201, response: "Token", request: "CreateTokenRequest", problems: [.conflict, .tokenNotAllowed])) { request, context, caller in
            let body = try await RequestBody.decode(
                CreateTokenRequest.self, from: request, context: context,
                allowedFields: CreateTokenRequest.CodingKeys.allCases.map(\.rawValue))
            let token = try await tokens.create(TokenDraft(body), by: caller)
            var response = try context.responseEncoder.encode(TokenResponse(token), status: .created)
            response.headers[.location] = "/v1/tokens/\(token.slug)"
            return response
        }
        api.add(.get, "/v1/tokens", scope: .tokensRead, summary: "List tokens (metadata only)",
            doc: .init(status: 200, response: "TokenList", query: OperationDoc.page)) { request, context, caller in
            let (limit, after) = try context.query.pagination()
            let page = try await tokens.list(by: caller, after: after, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: \.slug, TokenResponse.init))
        }
        api.add(.get, "/v1/tokens/{slug}", scope: .tokensRead, summary: "Read a token's metadata",
            doc: .init(status: 200, response: "Token")) { request, context, caller in
            let token = try await tokens.get(slug: try slug(context), by: caller)
            return try context.responseEncoder.encode(TokenResponse(token))
        }
        api.add(.patch, "/v1/tokens/{slug}", scope: .tokensWrite, summary: "Change a token's name, issuer or account",
            doc: .init(status: 200, response: "Token", request: "UpdateTokenRequest")) { request, context, caller in
            let body = try await RequestBody.decode(
                UpdateTokenRequest.self, from: request, context: context,
                allowedFields: UpdateTokenRequest.CodingKeys.allCases.map(\.rawValue))
            let change = TokenService.MetadataChange(name: body.name, issuer: body.issuer, account: body.account)
            let token = try await tokens.update(slug: try slug(context), change, by: caller)
            return try context.responseEncoder.encode(TokenResponse(token))
        }
        api.add(.delete, "/v1/tokens/{slug}", scope: .tokensWrite, summary: "Delete a token",
            doc: .init(status: 204)) { request, context, caller in
            try await tokens.delete(slug: try slug(context), by: caller)
            return Response(status: .noContent)
        }
        api.add(.get, "/v1/tokens/{slug}/code", scope: .tokensCode, summary: "The token's current code",
            doc: .init(status: 200, response: "Code", query: [
                OperationDoc.QueryDoc(name: "min_valid", schema: JSONSchema.integer(minimum: 0, maximum: TOTPParameters.periodRange.upperBound - 1),
                  description: "If fewer seconds than this are left, wait for the next period's code (0..period-1)"),
            ])) { request, context, caller in
            let query = context.query
            let minValid = try query.integer("min_valid", in: 0...(TOTPParameters.periodRange.upperBound - 1))
            let code = try await tokens.code(slug: try slug(context), minValid: minValid, by: caller)
            var response = try context.responseEncoder.encode(CodeResponse(code: code.code, expiresIn: code.expiresIn, period: code.period))
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.add(.get, "/v1/tokens/{slug}/seed", scope: .tokensSeed, summary: "Read the token's seed (flagged in audit)",
            doc: .init(status: 200, response: "Seed")) { request, context, caller in
            let uri = try await tokens.seed(slug: try slug(context), by: caller)
            var response = try context.responseEncoder.encode(SeedResponse(secret: Base32.encode(uri.secret), otpauthURI: uri.uriString))
            response.headers[.cacheControl] = "no-store"
            return response
        }
        api.add(.post, "/v1/tokens/{slug}/seed", scope: .tokensSeed, summary: "Rotate the token's seed (flagged in audit)",
            doc: .init(status: 200, response: "Token", request: "RotateSeedRequest")) { request, context, caller in
            let body = try await RequestBody.decode(
                CreateTokenRequest.self, from: request, context: context,
                allowedFields: ["secret", "otpauth_uri", "algorithm", "digits", "period", "kind"])
            let token = try await tokens.rotateSeed(slug: try slug(context), TokenDraft(body), by: caller)
            return try context.responseEncoder.encode(TokenResponse(token))
        }
    }

    private func slug(_ context: KaitoRequestContext) throws -> String {
        guard let slug = context.parameters.get("slug") else { throw KaitoError.notFound("The token") }
        return slug
    }
}

extension TokenDraft {
    init(_ body: CreateTokenRequest) {
        self.init(
            slug: body.slug, name: body.name, issuer: body.issuer, account: body.account, secret: body.secret,
            otpauthURI: body.otpauthURI, algorithm: body.algorithm, digits: body.digits, period: body.period, kind: body.kind
        )
    }
}
