import SQLKit

/// One numbered schema change. Published migrations are never edited: a change is a new number.
/// Written with SQLKit's schema builders, so that one migration serves SQLite and PostgreSQL.
struct Migration: Sendable {
    let version: Int
    let name: String
    let apply: @Sendable (any SQLDatabase) async throws -> Void
}

public enum Migrations {
    /// Every migration, in order.
    static let all: [Migration] = [
        Migration(version: 1, name: "organizations_keys_tokens", apply: Migration001.apply),
        Migration(version: 2, name: "key_restrictions_and_rate_limits", apply: Migration002.apply),
        Migration(version: 3, name: "audit_log", apply: Migration003.apply),
        Migration(version: 4, name: "webhooks", apply: Migration004.apply),
        Migration(version: 5, name: "sms_inboxes", apply: Migration005.apply),
        Migration(version: 6, name: "sms_outbound", apply: Migration006.apply),
        Migration(version: 7, name: "subscriptions_and_users", apply: Migration007.apply),
        Migration(version: 8, name: "server_secrets", apply: Migration008.apply),
        Migration(version: 9, name: "data_key_versions", apply: Migration009.apply),
        Migration(version: 10, name: "dashboard_accounts", apply: Migration010.apply),
        Migration(version: 11, name: "user_token_grants", apply: Migration011.apply),
        Migration(version: 12, name: "sealed_sms_bodies", apply: Migration012.apply),
        Migration(version: 13, name: "keyed_audit_chains", apply: Migration013.apply),
        Migration(version: 14, name: "webhook_claim_indexes", apply: Migration014.apply),
        Migration(version: 15, name: "idempotency_keys", apply: Migration015.apply),
        Migration(version: 16, name: "webhook_endpoint_due_index", apply: Migration016.apply),
    ]

    static var latestVersion: Int { all.last?.version ?? 0 }
}

extension Migrations {
    /// The newest migration this build knows (public for tests).
    public static var latestVersionForTesting: Int { latestVersion }
}
