import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The administrators' pages: the audit log with filters, and the plan.
struct AdministrationPages: DashboardPage {
    let shared: DashboardShared
    let audit: AuditService
    let organizations: OrganizationService

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
                    try Self.confirmed(form, try await organizations.organization(by: caller).name)
                    _ = try await organizations.changePlan(to: form.first("plan"), by: caller)
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
        func field(_ name: String, _ label: String, placeholder: String) -> String {
            #"<label for="f-\#(name)">\#(label)</label><input type="text" id="f-\#(name)" name="\#(name)" value="\#(HTML.escape(values[name] ?? ""))" placeholder="\#(placeholder)">"#
        }
        let outcome = values["outcome"] ?? ""
        let rows = events.map { event -> String in
            let actor = event.actor.name.map { "\(event.actor.type) \($0)" } ?? "\(event.actor.type) \(event.actor.id)"
            let target = event.target.map { "\($0.type) \($0.id)" } ?? ""
            return """
                <tr\(event.flagged ? #" class="flagged""# : "")><td class="optional">\(event.seq)</td><td>\(HTML.time(event.at))</td>
                <td><strong>\(HTML.escape(event.action.rawValue))</strong>\(event.flagged ? " ⚑" : "")</td><td>\(HTML.escape(actor))</td>
                <td>\(HTML.escape(target))</td><td>\(HTML.escape(event.outcome.rawValue))\(event.reason.map { "<br><span class=\"muted\">\(HTML.escape($0))</span>" } ?? "")</td>
                <td class="optional">\(HTML.escape(event.ip ?? ""))</td></tr>
                """
        }.joined()
        let body = """
            <form method="get" action="/audit" class="filters">
            \(field("action", "Action", placeholder: "token.* or token.code.read"))
            \(field("actor", "Actor id", placeholder: "key_… or usr_…"))
            \(field("target", "Target id", placeholder: "aws-prod"))
            <label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome"><option value="">any</option>
            <option value="success"\(outcome == "success" ? " selected" : "")>success</option><option value="denied"\(outcome == "denied" ? " selected" : "")>denied</option></select>
            \(field("since", "Since (RFC 3339)", placeholder: "2026-11-01T00:00:00Z"))
            <p><button class="primary" type="submit">Filter</button> <a href="/audit">Clear</a></p>
            </form>
            \(HTML.error(error))
            <table><thead><tr><th class="optional">#</th><th>Time (UTC)</th><th>Action</th><th>Actor</th><th>Target</th><th>Outcome</th><th class="optional">Address</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(events.isEmpty && error == nil ? #"<p class="muted">No events match.</p>"# : "")
            \(next.map { #"<p><a href="\#(HTML.escape($0))">Older events</a></p>"# } ?? "")
            """
        return HTML.response(HTML.page("Audit log", signedIn: Self.navigation(caller, session), body), status: error == nil ? .ok : .badRequest)
    }

    func billingPage(
        _ caller: Caller, _ session: DashboardSession, changed: Bool = false, error: String?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try caller.require(.orgAdmin)
        let organization = try await organizations.organization(by: caller)
        let choices = Plan.allCases.map { plan -> String in
            #"<label class="inline"><input type="radio" name="plan" value="\#(plan.rawValue)"\#(plan == organization.plan ? " checked" : "")> \#(plan.rawValue)</label><br>"#
        }.joined()
        let body = """
            \(HTML.notice(changed ? "Plan changed to \(organization.plan.rawValue): its limits apply from now on." : nil))\(HTML.error(error))
            <p>Organisation <strong>\(HTML.escape(organization.name))</strong>: plan <strong id="plan">\(HTML.escape(organization.plan.rawValue))</strong>,
            subscription \(HTML.escape(organization.subscriptionStatus ?? "none"))\(organization.currentPeriodEnd.map { ", current period until " + HTML.time($0) } ?? "").</p>
            <form method="post" action="/billing">
            \(HTML.csrf(session.csrfToken))
            <fieldset><legend>Change the plan (at once)</legend>\(choices)</fieldset>
            <p>Every key's rate limits and the organisation's quotas change at once.</p>
            <label for="confirm-plan">Type <code>\(HTML.escape(organization.name))</code> to confirm</label>
            <input type="text" id="confirm-plan" name="confirm" required autocomplete="off" spellcheck="false">
            <p><button class="primary" type="submit">Change plan</button></p>
            </form>
            """
        return HTML.response(HTML.page("Billing", signedIn: Self.navigation(caller, session), body), status: status)
    }
}
