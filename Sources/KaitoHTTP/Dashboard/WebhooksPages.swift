import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore

/// The webhooks pages (`org:admin`): endpoints (registering one shows its secret once), and an endpoint's
/// deliveries with every attempt, a test delivery, a retry, a secret rotation, enabling, disabling and deleting.
struct WebhooksPages: DashboardPage {
    let shared: DashboardShared
    let webhooks: WebhookService
    let audit: AuditService

    func register(on router: RouterGroup<KaitoRequestContext>) {
        router.get("/webhooks") { request, context in
            let deleted = request.uri.queryParameters["deleted"] == "1" ? "Endpoint deleted, with its secret and delivery log." : nil
            return try await signedIn(request, context, scope: .orgAdmin) { caller, session in
                try await webhooksPage(caller, session, notice: deleted, error: nil, after: HTML.cursor(request))
            }
        }
        router.post("/webhooks") { request, context in
            try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                let actions = (form.first("audit_actions") ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
                let draft = WebhookService.Draft(
                    url: form.first("url"), topics: form.all("topic"), auditActions: actions, description: form.filled("description"))
                do {
                    let (endpoint, secret) = try await webhooks.create(draft, by: caller)
                    // Post, redirect, get, the secret carried once across the redirect (as a new key is).
                    return try redirect("/webhooks/\(endpoint.id)?created=1", showingOnce: secret.text, path: "/webhooks/\(endpoint.id)", session: session)
                } catch let error as KaitoError {
                    return try await refused(error) {
                        try await webhooksPage(caller, session, error: error.pageMessage, entered: form, status: ProblemTable.status(for: error.code))
                    }
                }
            }
        }
        router.get("/webhooks/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            let created = request.uri.queryParameters["created"] == "1"
            return try await signedIn(request, context, scope: .orgAdmin) { caller, session in
                // The secret carried here is this endpoint's: its cookie is scoped to this endpoint's page.
                try await takeFlash(request, session: session, path: "/webhooks/\(id)") { secret in
                    let notice = created ? (secret == nil ? "Endpoint registered. Its secret was shown once; rotate it if it was not copied." : "Endpoint registered.") : nil
                    return try await webhookPage(id, caller, session, secretText: secret, notice: notice, after: HTML.cursor(request))
                }
            }
        }
        router.post("/webhooks/{id}/{action}") { request, context in
            let id = context.parameters.get("id") ?? ""
            let action = context.parameters.get("action") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, form in
                try await webhookAction(id, action, form: form, caller, session)
            }
        }
        router.post("/webhooks/{id}/deliveries/{delivery}/retry") { request, context in
            let id = context.parameters.get("id") ?? ""
            let delivery = context.parameters.get("delivery") ?? ""
            return try await signedInForm(request, context, scope: .orgAdmin) { caller, session, _ in
                try await webhookAction(id, "retry", delivery: delivery, caller, session)
            }
        }
    }

    func webhooksPage(
        _ caller: Caller, _ session: DashboardSession, notice: String? = nil, error: String?, entered: FormBody? = nil, after: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        // After a refusal the form comes back as it was sent.
        func value(_ name: String) -> String { HTML.escape(entered?.first(name) ?? "") }
        let topicsEntered = Set(entered?.all("topic") ?? [])
        let page = try await webhooks.list(by: caller, after: after, limit: DashboardShared.pageSize)
        let endpoints = page.items
        let rows = endpoints.map { endpoint -> String in
            """
            <tr><td><a href="/webhooks/\(HTML.escape(endpoint.id))"><strong>\(HTML.escape(endpoint.url))</strong></a>
            <br><span class="muted">\(HTML.escape(endpoint.id))\(endpoint.description.map { " · " + HTML.escape($0) } ?? "")</span></td>
            <td class="optional">\(HTML.escape(Self.subscriptions(endpoint)))</td><td>\(Self.state(endpoint))</td></tr>
            """
        }.joined()
        let topics = WebhookTopic.allCases.map {
            HTML.checkbox(name: "topic", value: $0.rawValue, label: $0.rawValue, checked: topicsEntered.contains($0.rawValue))
        }.joined()
        let body = """
            \(HTML.notice(notice))\(HTML.error(error))
            \(endpoints.isEmpty ? #"<p class="muted">No endpoints yet.</p>"# : #"<table><thead><tr><th>Endpoint</th><th class="optional">Receives</th><th>State</th></tr></thead><tbody>\#(rows)</tbody></table>"#)
            \(HTML.nextPage("/webhooks", cursor: page.nextCursor))
            <h2>Register an endpoint</h2>
            <p class="muted">Deliveries are signed as Standard Webhooks; the secret is shown once, after registering.</p>
            <form method="post" action="/webhooks">
            \(HTML.csrf(session.csrfToken))
            <label for="url">URL (https)</label><input type="text" id="url" name="url" required placeholder="https://hooks.example.com/kaito" maxlength="2048" value="\(value("url"))">
            <fieldset><legend>Topics</legend>\(topics)</fieldset>
            <label for="actions">Audit actions for audit.event (comma-separated; token.* allowed)</label><input type="text" id="actions" name="audit_actions" placeholder="token.seed.read, key.*" value="\(value("audit_actions"))">
            <label for="description">Description (optional)</label><input type="text" id="description" name="description" maxlength="200" value="\(value("description"))">
            <p><button class="primary" type="submit">Register endpoint</button></p>
            </form>
            """
        return HTML.response(HTML.page("Webhooks", signedIn: Self.navigation(caller, session), body), status: status)
    }

    static let deliveriesPageSize = 25

    func webhookPage(
        _ id: String, _ caller: Caller, _ session: DashboardSession, secretText: String? = nil, notice: String? = nil, error: String? = nil,
        after: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let endpoint = try await webhooks.get(id: id, by: caller)
        let page = try await webhooks.deliveries(endpointID: endpoint.id, by: caller, after: after, limit: Self.deliveriesPageSize)
        let deliveries = page.items
        func button(_ action: String, _ label: String, danger: Bool = false) -> String {
            HTML.postButton("/webhooks/\(endpoint.id)/\(action)", label, csrf: session.csrfToken, danger: danger)
        }
        var shown = ""
        if let secretText, secretText.hasPrefix("whsec_") {
            shown = """
                <section class="created" aria-live="polite"><h2>Signing secret</h2><p>Copy it now: it is shown only once.</p>
                <p>\(HTML.copyable(secretText, id: "webhook-secret"))</p></section>
                """
        }
        let rows = deliveries.map { delivery, attempts -> String in
            let tried = attempts.map { attempt -> String in
                let result = attempt.statusCode.map { "HTTP \($0)" } ?? (attempt.error ?? "no answer")
                return "#\(attempt.number) \(Timestamp.format(attempt.at)): \(result), \(attempt.latencyMilliseconds) ms"
            }
            return """
                <tr><td><code>\(HTML.escape(delivery.id))</code><br><span class="muted">\(HTML.time(delivery.createdAt))</span></td>
                <td>\(HTML.escape(delivery.type))</td><td>\(HTML.escape(delivery.status.rawValue))</td>
                <td class="optional">\(tried.isEmpty ? "—" : tried.map(HTML.escape).joined(separator: "<br>"))</td>
                <td>\(button("deliveries/\(delivery.id)/retry", "Retry"))</td></tr>
                """
        }.joined()
        let body = """
            \(shown)\(HTML.notice(notice))\(HTML.error(error))
            <p><strong>\(HTML.escape(endpoint.url))</strong>\(endpoint.description.map { " · " + HTML.escape($0) } ?? "")<br>
            <span class="muted">\(HTML.escape(endpoint.id)) · receives \(HTML.escape(Self.subscriptions(endpoint))) · \(Self.state(endpoint))</span></p>
            <p>\(button("test", "Send a test delivery")) \(button("rotate-secret", "Rotate secret"))
            \(endpoint.disabledAt == nil ? button("disable", "Disable") : button("enable", "Enable"))</p>
            \(HTML.confirmedAction("/webhooks/\(endpoint.id)/delete", "Delete endpoint", expected: Self.confirmation(endpoint),
                consequence: "The endpoint, its secret and its delivery log are deleted; nothing more is sent to it.", csrf: session.csrfToken))
            <h2>Deliveries</h2>
            \(deliveries.isEmpty ? #"<p class="muted">No deliveries yet.</p>"# : #"<table><thead><tr><th>Delivery</th><th>Type</th><th>Status</th><th class="optional">Attempts</th><th></th></tr></thead><tbody>\#(rows)</tbody></table>"#)
            \(HTML.nextPage("/webhooks/\(endpoint.id)", cursor: page.nextCursor, label: "Older deliveries"))
            """
        return HTML.response(HTML.page("Webhook", signedIn: Self.navigation(caller, session), body), status: status)
    }

    func webhookAction(
        _ id: String, _ action: String, delivery: String? = nil, form: FormBody? = nil, _ caller: Caller, _ session: DashboardSession
    ) async throws -> Response {
        var secret: WebhookSecret?
        let notice: String
        do {
            switch action {
            case "test":
                let delivery = try await webhooks.sendTest(id: id, by: caller)
                notice = "Test delivery \(delivery.id) queued."
            case "retry":
                let retried = try await webhooks.retry(endpointID: id, deliveryID: delivery ?? "", by: caller)
                notice = "Delivery \(retried.id) queued again."
            case "rotate-secret":
                secret = try await webhooks.rotateSecret(id: id, by: caller).1
                notice = "New secret; the old one keeps signing beside it for 24 hours."
            case "enable", "disable":
                _ = try await webhooks.update(id: id, WebhookService.Draft(enabled: action == "enable"), by: caller)
                notice = action == "enable" ? "Endpoint enabled." : "Endpoint disabled."
            case "delete":
                let endpoint = try await webhooks.get(id: id, by: caller)
                try Self.confirmed(form ?? FormBody(fields: []), Self.confirmation(endpoint))
                try await webhooks.delete(id: id, by: caller)
                // Not the URL in the link: webhook URLs often carry a secret of their own.
                return HTML.redirect("/webhooks?deleted=1")
            default:
                throw KaitoError.notFound("The action")
            }
        } catch let error as KaitoError where error.code != .notFound {
            return try await webhookPage(id, caller, session, error: error.pageMessage, status: ProblemTable.status(for: error.code))
        }
        // The id named a real endpoint of this organisation (the change succeeded), so it is safe in the location.
        return try redirect("/webhooks/\(id)", notice: notice, showingOnce: secret?.text, path: "/webhooks/\(id)", session: session)
    }

    /// What deleting an endpoint asks to be typed: its URL's host.
    static func confirmation(_ endpoint: WebhookEndpoint) -> String {
        URLComponents(string: endpoint.url)?.host ?? endpoint.url
    }

    static func subscriptions(_ endpoint: WebhookEndpoint) -> String {
        let topics = endpoint.topics.map(\.rawValue)
        let actions = endpoint.auditActions.isEmpty ? [] : ["audit: " + endpoint.auditActions.joined(separator: ", ")]
        return (topics + actions).joined(separator: "; ")
    }

    static func state(_ endpoint: WebhookEndpoint) -> String {
        guard let disabled = endpoint.disabledAt else { return endpoint.failingSince == nil ? "enabled" : "failing" }
        return "disabled \(HTML.time(disabled))\(endpoint.disabledReason.map { " (" + HTML.escape($0) + ")" } ?? "")"
    }
}
