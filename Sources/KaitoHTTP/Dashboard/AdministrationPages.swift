import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The administrators' pages: the audit log with filters, and the plan.
struct AdministrationPages: DashboardPage {
    let shared: DashboardShared
    let audit: AuditService
    let organizations: OrganizationService
    let billing: BillingService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/audit") { request, context in
            try await signedIn(request, context, scope: .auditRead) { caller, session in try await auditPage(request, caller, session) }
        }
        router.get("/billing") { request, context in
            let changed = request.uri.queryParameters["changed"] == "1"
            return try await signedIn(request, context, scope: .orgAdmin) { caller, session in
                try await billingPage(caller, session, changed: changed, error: nil)
            }
        }
        router.post("/billing") { request, context in
            try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                do {
                    // The limits of every key change at once: the organisation's name typed confirms it.
                    try Self.confirmed(form, try await organizations.organization(by: .caller(caller)).name)
                    _ = try await billing.changePlan(to: form.first("plan"), by: .caller(caller))
                    return HTML.redirect("/billing?changed=1")
                } catch let error as KaitoError where error.code == .validationFailed {
                    return try await billingPage(caller, session, error: error.pageMessage, status: .unprocessableContent)
                }
            }
        }
    }

    static let auditPageSize = 50

    /// Newest first, 50 a page, with the API's filters (an empty field is no filter).
    func auditPage(_ request: Request, _ caller: Caller, _ session: DashboardSession) async throws -> Response {
        try caller.require(.auditRead)
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters where !value.isEmpty {
            values[String(name)] = String(value)
        }
        var error: String?
        var events: [AuditEvent] = []
        var next: String?
        do {
            let filter = try AuditController.filter { values[$0] }
            let before = values["before"].flatMap(Int.init)
            let page = try await audit.list(by: caller, filter: filter, beforeSeq: before, limit: Self.auditPageSize)
            events = page.items
            if page.nextCursor != nil, let last = events.last {
                var query = values
                query["before"] = String(last.seq)
                next = "/audit?" + FormEncoding.encode(query.sorted { $0.key < $1.key })
            }
        } catch let failure as KaitoError where failure.code == .malformedRequest {
            error = failure.detail
        }
        struct Field { let name: String, label: String, value: String, placeholder: String }
        struct Row {
            let seq: Int, at: Templates.Time, action: String, flagged: Bool, actor: String, target: String, outcome: String
            let reason: String?, ip: String
        }
        struct Page {
            let fields: [Field], since: Field, success: Bool, denied: Bool, error: String?, events: [Row], noMatch: Bool, older: String?
        }
        func field(_ name: String, _ label: String, placeholder: String) -> Field {
            Field(name: name, label: label, value: values[name] ?? "", placeholder: placeholder)
        }
        let outcome = values["outcome"] ?? ""
        let body = Templates.render("audit", Page(
            fields: [
                field("action", "Action", placeholder: "token.* or token.code.read"), field("actor", "Actor id", placeholder: "key_… or usr_…"),
                field("target", "Target id", placeholder: "aws-prod"),
            ],
            since: field("since", "Since (RFC 3339)", placeholder: "2026-11-01T00:00:00Z"),
            success: outcome == "success", denied: outcome == "denied", error: error,
            events: events.map { event in
                Row(seq: event.seq, at: Templates.Time(event.at), action: event.action.rawValue, flagged: event.flagged,
                    actor: event.actor.name.map { "\(event.actor.type) \($0)" } ?? "\(event.actor.type) \(event.actor.id)",
                    target: event.target.map { "\($0.type) \($0.id)" } ?? "", outcome: event.outcome.rawValue, reason: event.reason, ip: event.ip ?? "")
            },
            noMatch: events.isEmpty && error == nil, older: next))
        return HTML.response(HTML.page("Audit log", signedIn: Self.navigation(caller, session), body), status: error == nil ? .ok : .badRequest)
    }

    func billingPage(
        _ caller: Caller, _ session: DashboardSession, changed: Bool = false, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try caller.require(.orgAdmin)
        let organization = try await organizations.organization(by: .caller(caller))
        struct Choice { let name: String, current: Bool }
        struct Page {
            let notice: String?, error: String?, name: String, plan: String, subscription: String, periodEnd: Templates.Time?
            let csrf: String, plans: [Choice]
        }
        let body = Templates.render("billing", Page(
            notice: changed ? "Plan changed to \(organization.plan.rawValue): its limits apply from now on." : nil, error: error,
            name: organization.name, plan: organization.plan.rawValue, subscription: organization.subscriptionStatus ?? "none",
            periodEnd: organization.currentPeriodEnd.map(Templates.Time.init), csrf: session.csrfToken,
            plans: Plan.allCases.map { Choice(name: $0.rawValue, current: $0 == organization.plan) }))
        return HTML.response(HTML.page("Billing", signedIn: Self.navigation(caller, session), body), status: status)
    }
}
