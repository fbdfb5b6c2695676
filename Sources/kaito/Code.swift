import ArgumentParser
import Foundation
import KaitoClient

/// Client options: the server and the key, from flags or `KAITO_URL` / `KAITO_KEY`.
struct ClientOptions: ParsableArguments {
    @Option(help: "The server (env KAITO_URL, default http://127.0.0.1:8080).")
    var url: String?

    @Flag(help: "Print the JSON response instead of human output.")
    var json = false

    @Flag(help: "On 429, wait for Retry-After and try again (up to --max-wait seconds in all); then exit 5.")
    var retry = false

    @Option(name: .customLong("max-wait"), help: "With --retry: the most seconds to spend waiting.")
    var maxWait: Int = 120

    /// Runs `body` with a client for the configured server and key.
    func withClient<T>(_ body: (KaitoClient) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        guard let key = environment["KAITO_KEY"], !key.isEmpty else {
            throw CLIError(message: "set KAITO_KEY to an API key", exitCode: 2)
        }
        return try await KaitoClient.with(
            baseURL: url ?? environment["KAITO_URL"] ?? "http://127.0.0.1:8080", key: key, retryBudget: retry ? max(0, maxWait) : 0, body)
    }
}

struct Code: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a token's current code alone on one line (needs a key with tokens:code)."
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
