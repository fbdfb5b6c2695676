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
        struct Row { let id: String, url: String, description: String?, subscriptions: String, state: State }
        struct Page {
            let notice: String?, error: String?, endpoints: [Row], hasEndpoints: Bool, nextPage: String, csrf: String
            let enteredURL: String, topics: [Templates.Checkbox], enteredActions: String, enteredDescription: String
        }
        // After a refusal the form comes back as it was sent.
        let topicsEntered = Set(entered?.all("topic") ?? [])
        let page = try await webhooks.list(by: caller, after: after, limit: DashboardShared.pageSize)
        let rows = page.items.map {
            Row(id: $0.id, url: $0.url, description: $0.description, subscriptions: Self.subscriptions($0), state: State($0))
        }
        let body = Templates.render("webhooks", Page(
            notice: notice, error: error, endpoints: rows, hasEndpoints: !rows.isEmpty, nextPage: HTML.nextPage("/webhooks", cursor: page.nextCursor),
            csrf: session.csrfToken, enteredURL: entered?.first("url") ?? "",
            topics: WebhookTopic.allCases.map {
                Templates.Checkbox(name: "topic", value: $0.rawValue, label: $0.rawValue, checked: topicsEntered.contains($0.rawValue))
            },
            enteredActions: entered?.first("audit_actions") ?? "", enteredDescription: entered?.first("description") ?? ""))
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
        struct Attempt { let text: String, first: Bool }
        struct Row { let id: String, createdAt: Templates.Time, type: String, status: String, attempts: [Attempt], retry: Templates.PostButton }
        struct Page {
            let secret: Templates.Copyable?, notice: String?, error: String?, url: String, description: String?, id: String, subscriptions: String
            let state: State, test: Templates.PostButton, rotate: Templates.PostButton, toggle: Templates.PostButton, delete: Templates.Confirmation
            let deliveries: [Row], hasDeliveries: Bool, nextPage: String
        }
        func button(_ action: String, _ label: String) -> Templates.PostButton {
            Templates.PostButton(action: "/webhooks/\(endpoint.id)/\(action)", label: label, csrf: session.csrfToken, danger: false)
        }
        let rows = deliveries.map { delivery, attempts in
            let tried = attempts.enumerated().map { index, attempt in
                let result = attempt.statusCode.map { "HTTP \($0)" } ?? (attempt.error ?? "no answer")
                return Attempt(text: "#\(attempt.number) \(Timestamp.format(attempt.at)): \(result), \(attempt.latencyMilliseconds) ms", first: index == 0)
            }
            return Row(id: delivery.id, createdAt: Templates.Time(delivery.createdAt), type: delivery.type, status: delivery.status.rawValue,
                       attempts: tried, retry: button("deliveries/\(delivery.id)/retry", "Retry"))
        }
        let body = Templates.render("webhook", Page(
            secret: secretText.flatMap { $0.hasPrefix("whsec_") ? Templates.Copyable(value: $0, id: "webhook-secret") : nil },
            notice: notice, error: error, url: endpoint.url, description: endpoint.description, id: endpoint.id,
            subscriptions: Self.subscriptions(endpoint), state: State(endpoint),
            test: button("test", "Send a test delivery"), rotate: button("rotate-secret", "Rotate secret"),
            toggle: endpoint.disabledAt == nil ? button("disable", "Disable") : button("enable", "Enable"),
            delete: Templates.Confirmation(
                action: "/webhooks/\(endpoint.id)/delete", label: "Delete endpoint", expected: Self.confirmation(endpoint),
                consequence: "The endpoint, its secret and its delivery log are deleted; nothing more is sent to it.", csrf: session.csrfToken),
            deliveries: rows, hasDeliveries: !rows.isEmpty,
            nextPage: HTML.nextPage("/webhooks/\(endpoint.id)", cursor: page.nextCursor, label: "Older deliveries")))
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

    /// An endpoint's state as the pages show it (the `webhook_state` fragment): enabled, failing, or disabled since
    /// when and why.
    struct State {
        struct Disabled { let at: Templates.Time, reason: String? }
        let disabled: Disabled?
        let word: String

        init(_ endpoint: WebhookEndpoint) {
            disabled = endpoint.disabledAt.map { Disabled(at: Templates.Time($0), reason: endpoint.disabledReason) }
            word = endpoint.failingSince == nil ? "enabled" : "failing"
        }
    }
}
