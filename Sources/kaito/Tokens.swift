import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation's tokens.", subcommands: [List.self, Create.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the tokens the key may see (tokens:read): slug, algorithm, digits, period; --json for a JSON array.", discussion: "Example: kaito tokens list --json")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let tokens = try await client.withClient { kaito in try await allPages { try await kaito.tokens(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(tokens) }
            for token in tokens { print("\(token.slug)\t\(token.algorithm)\t\(token.digits)\t\(token.period)") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token (tokens:write) and print its slug; --json for its metadata.",
            discussion: """
                The seed comes from --secret-stdin (a base32 secret or an otpauth:// URI on standard input, so that it
                stays out of the shell history and the process list), --secret or --otpauth-uri.
                Example: echo \"$SECRET\" | kaito tokens create aws-prod --secret-stdin --issuer AWS
                """)

        @Argument(help: "The slug: [a-z0-9][a-z0-9-]{0,62}, unique in the organisation.")
        var slug: String

        @Flag(name: .customLong("secret-stdin"), help: "Read the base32 secret or the otpauth:// URI from standard input.")
        var secretFromStandardInput = false

        @Option(help: "The base32 secret (prefer --secret-stdin).")
        var secret: String?

        @Option(name: .customLong("otpauth-uri"), help: "An otpauth://totp/... URI instead of a secret (prefer --secret-stdin).")
        var otpauthURI: String?

        @Option(help: "A display name (default: the slug).")
        var name: String?

        @Option(help: "The issuer, such as AWS.")
        var issuer: String?

        @Option(help: "The account, such as root@acme.example.")
        var account: String?

        @Option(help: "SHA1 (default), SHA256 or SHA512.")
        var algorithm: String?

        @Option(help: "6 (default), 7 or 8.")
        var digits: Int?

        @Option(help: "Seconds, 15 to 300 (default 30).")
        var period: Int?

        @Option(help: "totp (default) or steam.")
        var kind: String?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            let given = [secretFromStandardInput, secret != nil, otpauthURI != nil].filter { $0 }.count
            guard given == 1 else { throw ValidationError("Give exactly one of --secret-stdin, --secret and --otpauth-uri.") }
        }

        func run() async throws {
            var body = CreateTokenRequest(
                slug: slug, name: name, issuer: issuer, account: account, secret: secret, otpauthURI: otpauthURI,
                algorithm: algorithm, digits: digits, period: period, kind: kind)
            if secretFromStandardInput {
                let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else { throw CLIError(message: "standard input is empty: expected a secret or an otpauth:// URI", exitCode: 2) }
                if text.lowercased().hasPrefix("otpauth://") { body.otpauthURI = text } else { body.secret = text }
            }
            let token = try await client.withClient { try await $0.createToken(body) }
            if client.json { return try printJSON(token) }
            print(token.slug)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a token and its seed (tokens:write).", discussion: "Example: kaito tokens delete aws-prod")

        @Argument(help: "The token's slug.")
        var slug: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await client.withClient { try await $0.deleteToken(slug: slug) }
            note("deleted \(slug)")
        }
    }
}
