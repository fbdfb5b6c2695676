import ArgumentParser
import Foundation
import KaitoClient

/// Client options: the server and the key, from flags or `KAITO_URL` / `KAITO_KEY`.
struct ClientOptions: ParsableArguments {
    @Option(help: "The server (env KAITO_URL, default http://127.0.0.1:8080).")
    var url: String?

    @Flag(help: "Print the JSON response instead of human output.")
    var json = false

    @Flag(help: "On 429, wait for Retry-After and try again (up to --max-wait seconds in all); then exit 5. A command that creates or sends also retries a lost answer or a server error, with an idempotency key (so it runs once).")
    var retry = false

    @Option(name: .customLong("max-wait"), help: "With --retry: the most seconds to spend waiting.")
    var maxWait: Int = 120

    @Option(name: .customLong("idempotency-key"), help: ArgumentHelp(
        "Sent with a request that creates or sends: the server runs it once, however often it is sent (1 to 255 printable ASCII characters; kept 24 hours).",
        discussion: "With --retry and no --idempotency-key, a command that creates or sends makes up a key of its own, so that its retries are safe."))
    var idempotencyKey: String?

    /// Runs `body` with a client for the configured server and key.
    func withClient<T>(_ body: (KaitoClient) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        guard let key = environment["KAITO_KEY"], !key.isEmpty else {
            throw CLIError(message: "set KAITO_KEY to an API key", exitCode: 2)
        }
        // A key for the retries of this one command (`--retry` also retries a lost answer of a POST then).
        let idempotency = idempotencyKey ?? (retry ? "kaito-cli-" + UUID().uuidString.lowercased() : nil)
        if let idempotency, !(1...255).contains(idempotency.utf8.count) || !idempotency.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) {
            throw CLIError(message: "--idempotency-key must be 1 to 255 printable ASCII characters", exitCode: 2)
        }
        return try await KaitoClient.with(
            baseURL: url ?? environment["KAITO_URL"] ?? "http://127.0.0.1:8080", key: key, retryBudget: retry ? max(0, maxWait) : 0) { client in
            try await body(client.idempotent(idempotency))
        }
    }
}

struct Code: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a token's current code alone on one line (needs a key with tokens:code).", discussion: "Example: AWS_MFA=$(kaito code aws-prod --min-valid 5)"
    )

    @Argument(help: "The token's slug.")
    var slug: String

    @Option(name: .customLong("min-valid"), help: "Wait for the next code if fewer seconds than this are left.")
    var minValid: Int?

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let code = try await client.withClient { try await $0.code(slug: slug, minValid: minValid) }
        if client.json {
            try printJSON(code)
        } else {
            print(code.code)
        }
    }
}
