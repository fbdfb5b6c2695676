import Foundation

/// Plan changes: what a payment provider's integration calls (`PUT /v1/org/billing/subscription`) and what an
/// operator runs (`kaito admin set-plan`). A change takes effect at once for gating, emits
/// `billing.subscription.created|updated|canceled` through the outbox and is audited, in one transaction.
/// Leaving Enterprise drops every key's rate-limit overrides back to the defaults, each with a `key.update` event.
public struct Billing: Sendable {
    let random: any RandomSource
    /// The period a paid plan runs before it renews (there is no payment provider: it only informs).
    public static let period: TimeInterval = 30 * 86_400

    /// Plan changes whose delivery ids are drawn from `random`.
    public init(random: any RandomSource) {
        self.random = random
    }

    /// Changes the plan of the acting organisation inside `unit`'s transaction; a change to the current plan changes
    /// nothing.
    public func change(to plan: Plan, by acting: Acting, in unit: AuditedUnit) async throws -> Organization {
        let (session, now, organizationID) = (unit.session, unit.now, acting.organizationID)
        guard var organization = try await session.organizations.find(id: organizationID) else {
            throw KaitoError.notFound("The organisation")
        }
        let previous = organization.plan
        guard plan != previous else { return organization }
        let topic: WebhookTopic = previous == .free ? .billingSubscriptionCreated : (plan == .free ? .billingSubscriptionCanceled : .billingSubscriptionUpdated)
        organization.plan = plan
        organization.subscriptionStatus = plan == .free ? "canceled" : "active"
        organization.currentPeriodEnd = plan == .free ? now : now.addingTimeInterval(Self.period)
        try await session.organizations.setSubscription(organization)

        try await unit.record(
            AuditRecord(.organizationPlanChange, target: .init(type: "org", id: organizationID), reason: "\(previous.rawValue) -> \(plan.rawValue)"),
            by: acting)
        if plan != .enterprise {
            for keyID in try await session.keys.clearRateLimitOverrides(organizationID: organizationID) {
                try await unit.record(
                    AuditRecord(.keyUpdate, target: .init(type: "key", id: keyID), reason: "rate-limit overrides removed: plan \(plan.rawValue)"),
                    by: acting)
            }
        }
        try await Outbox(random: random).enqueue(topic, data: Outbox.json([
            "organization": ["id": organization.id, "name": organization.name], "previous_plan": previous.rawValue,
            "plan": plan.rawValue, "status": organization.subscriptionStatus ?? "canceled",
            "current_period_end": organization.currentPeriodEnd.map(Timestamp.format) as Any? ?? NSNull(),
            "changed_at": Timestamp.format(now),
        ]), organizationID: organizationID, at: now, in: session)
        return organization
    }
}

/// The organisation's plan (`PUT /v1/org/billing/subscription`, the dashboard's billing page, `kaito admin set-plan`).
public struct BillingService: Sendable {
    let work: UnitOfWork
    let random: any RandomSource

    /// Plan changes kept through `work`, their webhook deliveries' ids drawn from `random`.
    public init(work: UnitOfWork, random: any RandomSource) {
        self.work = work
        self.random = random
    }

    /// Changes the plan (named as the API names it), with its webhook and audit events.
    /// - Throws: `validation_failed` for an unknown plan.
    public func changePlan(to text: String?, by requester: Requester) async throws -> Organization {
        guard let text, let plan = Plan(rawValue: text) else {
            throw KaitoError.validation("plan", "must be one of: \(Plan.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try await changePlan(to: plan, by: requester)
    }

    /// Changes the plan, with its webhook and audit events; a change to the current plan changes nothing.
    public func changePlan(to plan: Plan, by requester: Requester) async throws -> Organization {
        let (billing, acting) = (Billing(random: random), requester.acting)
        return try await work.write(by: requester) { unit in try await billing.change(to: plan, by: acting, in: unit) }
    }
}
