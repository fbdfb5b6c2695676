import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `/v1/org` and its billing (docs/api.md#organisation-users-and-billing). The plan API is what a payment provider's integration would call.
struct OrganizationController {
    let organizations: OrganizationService
    let users: UserService
    let billing: BillingService

    func register(on api: APIRouter) {
        api.add(.get, "/v1/org", scope: .orgAdmin, summary: "The caller's organisation",
            doc: .init(status: 200, response: "Organization")) { request, context, caller in
            return try context.responseEncoder.encode(OrganizationResponse(try await organizations.organization(by: .caller(caller))))
        }
        api.add(.patch, "/v1/org", scope: .orgAdmin, summary: "Rename the organisation",
            doc: .init(status: 200, response: "Organization", request: "UpdateOrganizationRequest", problems: [.conflict])) { request, context, caller in
            let body = try await RequestBody.decode(OrganizationRequest.self, from: request, context: context, allowedFields: ["name"])
            return try context.responseEncoder.encode(OrganizationResponse(try await organizations.rename(to: body.name, by: .caller(caller))))
        }
        api.add(.get, "/v1/org/users", scope: .orgAdmin, summary: "The organisation's users",
            doc: .init(status: 200, response: "UserList", query: OperationDoc.page)) { request, context, caller in
            let (limit, after) = try context.query.pagination()
            let page = try await users.list(by: .caller(caller), after: after, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: \.id, UserResponse.init))
        }
        api.add(.post, "/v1/org/users", scope: .orgAdmin, summary: "Add a user (role owner, admin or member)",
            doc: .init(status: 201, response: "User", request: "CreateUserRequest", problems: [.conflict, .insufficientScope, .tokenNotAllowed])) { request, context, caller in
            let body = try await RequestBody.decode(UserRequest.self, from: request, context: context, allowedFields: UserRequest.CodingKeys.allCases.map(\.rawValue))
            let user = try await users.add(email: body.email, name: body.name, role: body.role, by: .caller(caller))
            var response = try context.responseEncoder.encode(UserResponse(user), status: .created)
            response.headers[.location] = "/v1/org/users/\(user.id)"
            return response
        }
        api.add(.delete, "/v1/org/users/{id}", scope: .orgAdmin, summary: "Remove a user and revoke the keys issued to them (never the last owner)",
            doc: .init(status: 204, problems: [.conflict, .insufficientScope, .tokenNotAllowed])) { request, context, caller in
            _ = try await users.remove(id: context.parameters.get("id") ?? "", by: .caller(caller))
            return Response(status: .noContent)
        }
        api.add(.get, "/v1/org/users/{id}/token-grants", scope: .orgAdmin, summary: "The tokens granted to a member (what the member sees in the dashboard)",
            doc: .init(status: 200, response: "TokenGrants", problems: [.notFound])) { request, context, caller in
            let (user, slugs) = try await users.grants(userID: context.parameters.get("id") ?? "", by: .caller(caller))
            return try context.responseEncoder.encode(TokenGrantsResponse(userID: user.id, tokenSlugs: slugs))
        }
        api.add(.put, "/v1/org/users/{id}/token-grants", scope: .orgAdmin, summary: "Replace a member's token grants (owners and admins see every token)",
            doc: .init(status: 200, response: "TokenGrants", request: "TokenGrantsRequest", problems: [.notFound, .conflict])) { request, context, caller in
            let body = try await RequestBody.decode(TokenGrantsRequest.self, from: request, context: context, allowedFields: ["token_slugs"])
            let id = context.parameters.get("id") ?? ""
            let slugs = try await users.setGrants(userID: id, slugs: body.tokenSlugs, by: .caller(caller))
            return try context.responseEncoder.encode(TokenGrantsResponse(userID: id, tokenSlugs: slugs))
        }
        api.add(.get, "/v1/org/billing", scope: .orgAdmin, summary: "The organisation's plan and subscription",
            doc: .init(status: 200, response: "Billing")) { request, context, caller in
            return try context.responseEncoder.encode(BillingResponse(try await organizations.organization(by: .caller(caller))))
        }
        api.add(.put, "/v1/org/billing/subscription", scope: .orgAdmin, summary: "Change the plan (effective at once; emits billing.subscription.*)",
            doc: .init(status: 200, response: "Billing", request: "SubscriptionRequest")) { request, context, caller in
            let body = try await RequestBody.decode(SubscriptionRequest.self, from: request, context: context, allowedFields: ["plan"])
            return try context.responseEncoder.encode(BillingResponse(try await billing.changePlan(to: body.plan, by: .caller(caller))))
        }
    }
}

extension OrganizationResponse {
    init(_ organization: Organization) {
        self.init(id: organization.id, name: organization.name, plan: organization.plan.rawValue, createdAt: Timestamp.format(organization.createdAt))
    }
}

extension UserResponse {
    init(_ user: OrgUser) {
        self.init(id: user.id, email: user.email, name: user.name, role: user.role.rawValue, createdAt: Timestamp.format(user.createdAt))
    }
}

extension BillingResponse {
    init(_ organization: Organization) {
        self.init(
            plan: organization.plan.rawValue, status: organization.subscriptionStatus ?? "none",
            currentPeriodEnd: organization.currentPeriodEnd.map(Timestamp.format))
    }
}
