import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation's keys.", subcommands: [List.self, Create.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the organisation's keys (org:admin): id, hint, name, scopes, revoked; --json for a JSON array.", discussion: "Example: kaito keys list --json")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let keys = try await client.withClient { kaito in try await allPages { try await kaito.keys(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(keys) }
            for key in keys {
                print("\(key.id)\t\(key.hint)\t\(key.name)\t\(key.scopes.joined(separator: ","))\t\(key.revokedAt == nil ? "active" : "revoked")")
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key (org:admin) and print it alone on one line: it is shown this once. --json for its metadata with the key.", discussion: "Example: KEY=$(kaito keys create --name deploy --scopes tokens:code --token aws-prod --cidr 10.0.0.0/8)")

        @Option(help: "The key's name.")
        var name: String

        @Option(help: "Comma-separated scopes, such as tokens:code,tokens:read.")
        var scopes: String

        @Option(name: .customLong("cidr"), help: "An allowed network (IPv4 or IPv6 CIDR); repeat for several.")
        var cidrs: [String] = []

        @Option(name: .customLong("expires-at"), help: "RFC 3339 time after which the key fails with 401 key_expired.")
        var expiresAt: String?

        @Flag(name: .customLong("single-use"), help: "The key is spent by its first request that succeeds.")
        var singleUse = false

        @Option(name: .customLong("token"), help: "Bind the key to this token slug; repeat for several.")
        var tokens: [String] = []

        @Option(name: .customLong("user"), help: "Issue the key to this user id (it then acts within the user's role).")
        var user: String?

        @Option(name: .customLong("rate-limit"), help: "A per-minute limit as group=N (code, read, write); Enterprise only; repeat.")
        var rateLimits: [String] = []

        @OptionGroup var client: ClientOptions

        func run() async throws {
            var limits = RateLimitsBody()
            for entry in rateLimits {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let value = Int(parts[1]) else {
                    throw CLIError(message: "--rate-limit takes group=N, such as code=600", exitCode: 2)
                }
                switch parts[0] {
                case "code": limits.code = value
                case "read": limits.read = value
                case "write": limits.write = value
                default: throw CLIError(message: "--rate-limit: the groups are code, read and write", exitCode: 2)
                }
            }
            let body = CreateKeyRequest(
                name: name, scopes: scopes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                allowedCIDRs: cidrs.isEmpty ? nil : cidrs, expiresAt: expiresAt, singleUse: singleUse ? true : nil,
                tokenSlugs: tokens.isEmpty ? nil : tokens, rateLimits: rateLimits.isEmpty ? nil : limits, userID: user)
            let key = try await client.withClient { try await $0.createKey(body) }
            if client.json { return try printJSON(key) }
            note("created \(key.id) (\(key.name)): the key below is shown this once")
            print(key.key ?? "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at once (org:admin).", discussion: "Example: kaito keys revoke key_01J9Z3K4M5N6P7Q8R9S0T1V2W3")

        @Argument(help: "The key's id, key_...")
        var id: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await client.withClient { try await $0.revokeKey(id: id) }
            note("revoked \(id)")
        }
    }
}
