import Hummingbird
import KaitoAPIModels
import KaitoCore

/// `/v1/org` and its billing (API.md §9). The plan API is what a payment provider's integration would call.
struct OrganizationController {
    let organizations: OrganizationService

    func register(on api: APIRouter) {
        api.add(.get, "/v1/org", scope: .orgAdmin, summary: "The caller's organisation") { request, _, caller in
            _ = try QueryParameters(request, allowed: [])
            return try JSONCoding.response(OrganizationResponse(try await organizations.organization(by: caller)))
        }
        api.add(.patch, "/v1/org", scope: .orgAdmin, summary: "Rename the organisation") { request, context, caller in
            let body = try await RequestBody.decode(OrganizationRequest.self, from: request, context: context, allowedFields: ["name"])
            return try JSONCoding.response(OrganizationResponse(try await organizations.rename(to: body.name, by: caller)))
        }
        api.add(.get, "/v1/org/billing", scope: .orgAdmin, summary: "The organisation's plan and subscription") { request, _, caller in
            _ = try QueryParameters(request, allowed: [])
            return try JSONCoding.response(BillingResponse(try await organizations.organization(by: caller)))
        }
        api.add(.put, "/v1/org/billing/subscription", scope: .orgAdmin, summary: "Change the plan (effective at once; emits billing.subscription.*)") { request, context, caller in
            let body = try await RequestBody.decode(SubscriptionRequest.self, from: request, context: context, allowedFields: ["plan"])
            return try JSONCoding.response(BillingResponse(try await organizations.changePlan(to: body.plan, by: caller)))
        }
    }
}

extension OrganizationResponse {
    init(_ organization: Organization) {
        self.init(id: organization.id, name: organization.name, plan: organization.plan.rawValue, createdAt: Timestamp.format(organization.createdAt))
    }
}

extension BillingResponse {
    init(_ organization: Organization) {
        self.init(
            plan: organization.plan.rawValue, status: organization.subscriptionStatus ?? "none",
            currentPeriodEnd: organization.currentPeriodEnd.map(Timestamp.format))
    }
}
