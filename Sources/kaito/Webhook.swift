import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient
import KaitoCore

struct Webhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Webhook endpoints, and a signature check for their receivers.",
        subcommands: [List.self, Create.self, Delete.self, Verify.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an endpoint (org:admin) and print its signing secret alone on one line: it is shown this once.", discussion: "Example: SECRET=$(kaito webhook create https://hooks.example.com/kaito --topic sms.inbound)")

        @Argument(help: "The receiver's URL, https://...")
        var url: String

        @Option(name: .customLong("topic"), help: "A topic (sms.inbound, audit.event, ...); repeat for several.")
        var topics: [String]

        @Option(name: .customLong("audit-action"), help: "With audit.event: an action or prefix such as token.seed.*; repeat.")
        var auditActions: [String] = []

        @Option(help: "A description.")
        var description: String?

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let body = WebhookRequest(url: url, topics: topics, auditActions: auditActions.isEmpty ? nil : auditActions, description: description)
            let endpoint = try await client.withClient { try await $0.createWebhook(body) }
            if client.json { return try printJSON(endpoint) }
            note("created \(endpoint.id): the secret below is shown this once")
            print(endpoint.secret ?? "")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an endpoint and its deliveries (org:admin).", discussion: "Example: kaito webhook delete whk_01J9Z3K4M5N6P7Q8R9S0T1V2W3")

        @Argument(help: "The endpoint's id, whk_...")
        var id: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await client.withClient { try await $0.deleteWebhook(id: id) }
            note("deleted \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List webhook endpoints (org:admin): id, state, topics, url; --json for a JSON array.", discussion: "Example: kaito webhook list")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let endpoints = try await client.withClient { kaito in try await allPages { try await kaito.webhooks(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(endpoints) }
            for endpoint in endpoints {
                print("\(endpoint.id)\t\(endpoint.enabled ? "enabled" : "disabled")\t\(endpoint.topics.joined(separator: ","))\t\(endpoint.url)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a delivery's Standard Webhooks signature and timestamp.",
            discussion: """
                Reads the delivery from standard input: its headers (webhook-id, webhook-timestamp, webhook-signature;
                a request or status line first is skipped), an empty line, and the body exactly as received. With
                --id, --timestamp and --signature, standard input is the body alone.

                Prints the verified payload (or, with --json, {"valid", "id", "timestamp", "payload"}) and exits 0;
                exits 3 when no signature is valid under any given secret or the timestamp is outside the tolerance,
                and 2 when the input is malformed.
                Example: kaito webhook verify --secret \"$WHSEC\" --id \"$ID\" --timestamp \"$TS\" --signature \"$SIG\" < body.json
                """
        )

        @Option(help: "The endpoint's secret, whsec_...; repeat it for the old and new secret during a rotation (env KAITO_WEBHOOK_SECRET).")
        var secret: [String] = []

        @Option(help: "The webhook-id header, when standard input is the body alone.")
        var id: String?

        @Option(help: "The webhook-timestamp header, when standard input is the body alone.")
        var timestamp: Int64?

        @Option(help: "The webhook-signature header, when standard input is the body alone.")
        var signature: String?

        @Option(help: "Seconds the timestamp may differ from now (0: do not check).")
        var tolerance: Int64 = 300

        @Flag(help: "Print a JSON object instead of the payload alone.")
        var json = false

        func run() throws {
            var texts = secret
            if texts.isEmpty, let fromEnvironment = ProcessInfo.processInfo.environment["KAITO_WEBHOOK_SECRET"] { texts = [fromEnvironment] }
            guard !texts.isEmpty else { throw CLIError(message: "give --secret whsec_... (or set KAITO_WEBHOOK_SECRET)", exitCode: 2) }
            let secrets = try texts.map { text in
                guard let secret = WebhookSecret(text) else { throw CLIError(message: "--secret: not a whsec_ secret", exitCode: 2) }
                return secret
            }
            let input = Array(FileHandle.standardInput.readDataToEndOfFile())
            let delivery: ReceivedWebhook
            do {
                if id != nil || timestamp != nil || signature != nil {
                    guard let id, let timestamp, let signature else {
                        throw CLIError(message: "--id, --timestamp and --signature go together", exitCode: 2)
                    }
                    delivery = ReceivedWebhook(id: id, timestamp: timestamp, signature: signature, body: input)
                } else {
                    delivery = try ReceivedWebhook(message: input)
                }
            } catch let error as KaitoError {
                let field = error.fieldErrors.first.map { "\($0.field) \($0.message)" } ?? error.detail
                throw CLIError(message: "the delivery is malformed: \(field)", exitCode: 2)
            }
            let (verdict, body) = delivery.verify(secrets: secrets, now: Date(), tolerance: tolerance)
            switch verdict {
            case .badSignature:
                throw CLIError(message: "no valid signature for \(delivery.id) under the given secret(s)", exitCode: 3)
            case .outsideTolerance(let seconds):
                throw CLIError(message: "the signature is valid but the timestamp is \(abs(seconds)) s \(seconds > 0 ? "old" : "in the future") (tolerance \(tolerance) s)", exitCode: 3)
            case .valid:
                if json {
                    let payload = (try? JSONSerialization.jsonObject(with: Data(body))) ?? String(decoding: body, as: UTF8.self)
                    let object: [String: Any] = ["valid": true, "id": delivery.id, "timestamp": delivery.timestamp, "payload": payload]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    FileHandle.standardOutput.write(Data(body))
                    if body.last != UInt8(ascii: "\n") { print() }
                }
            }
        }
    }
}
