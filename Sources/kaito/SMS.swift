import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient

struct SMS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sms",
        abstract: "SMS inboxes: wait for the next message, send one, simulate one.",
        subcommands: [Wait.self, Messages.self, Send.self, Simulate.self]
    )

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for the next SMS of an inbox and print its code (or its body when it has none).",
            discussion: """
                Needs a key with sms:read. Waits for a message that arrives after the command starts (or after
                --after), long-polling the server. Exits 0 with the code, 1 when --timeout passes first.
                Example: CODE=$(kaito sms wait --inbox inb_01J9Z3K4M5N6P7Q8R9S0T1V2W3 --timeout 120)
                """
        )

        @Option(help: "The inbox id (inb_...).")
        var inbox: String

        @Option(help: "Seconds to wait (1 to 3600).")
        var timeout: Int = 60

        @Option(help: "Return the first message after this message id instead of the next one to arrive.")
        var after: String?

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard (1...3600).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 3600 seconds") }
        }

        func run() async throws {
            let progress = ProgressLine(enabled: !client.json && isatty(STDERR_FILENO) == 1)
            let message = try await client.withClient { kaito -> SMSMessageResponse? in
                // The newest message now is the cursor, so that nothing arriving between two polls is missed.
                var cursor = after
                if cursor == nil {
                    cursor = try await kaito.messages(inbox: inbox, limit: 1).data.first?.id ?? "sms_" + String(repeating: "0", count: 26)
                }
                let deadline = Date().addingTimeInterval(TimeInterval(timeout))
                while true {
                    let remaining = Int(deadline.timeIntervalSinceNow.rounded(.up))
                    guard remaining > 0 else { return nil }
                    progress.show("waiting for an SMS on \(inbox) (\(remaining) s left)")
                    if let message = try await kaito.waitForMessage(inbox: inbox, after: cursor, timeout: min(remaining, 60)) { return message }
                }
            }
            progress.clear()
            guard let message else { throw CLIError(message: "no message arrived on \(inbox) within \(timeout) s", exitCode: 1) }
            if client.json {
                try printJSON(message)
            } else {
                print(message.code ?? message.body)
            }
        }
    }

    struct Messages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The newest inbound messages (sms:read): id, from, code (or -), body; --json for a JSON array.", discussion: "Example: kaito sms messages --inbox inb_01J9Z3K4M5N6P7Q8R9S0T1V2W3 --limit 5")

        @Option(help: "Only this inbox (inb_...).")
        var inbox: String?

        @Option(help: "How many, newest first (1 to 200).")
        var limit: Int = 20

        @OptionGroup var client: ClientOptions

        func validate() throws {
            guard (1...200).contains(limit) else { throw ValidationError("--limit must be between 1 and 200") }
        }

        func run() async throws {
            let messages = try await client.withClient { try await $0.messages(inbox: inbox, limit: limit).data }
            if client.json { return try printJSON(messages) }
            for message in messages {
                print("\(message.id)\t\(message.from)\t\(message.code ?? "-")\t\(message.body.replacingOccurrences(of: "\n", with: " "))")
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an SMS from an inbox (needs sms:send, plan Business or Enterprise); prints its id.",
            discussion: """
                With --retry it is sent once however the network behaves: the command sends an Idempotency-Key (its
                own, or --idempotency-key) and retries a lost answer, a server error or a rate limit with it.
                Example: kaito sms send --from inb_... --to +15557654321 --body "Deploy done" --retry
                """
        )

        @Option(help: "The inbox to send from: its id (inb_...) or its number.")
        var from: String

        @Option(help: "The recipient, E.164 (+15557654321).")
        var to: String

        @Option(help: "The message text (at most 1600 characters).")
        var body: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let sent = try await client.withClient { try await $0.sendSMS(SendSMSRequest(from: from, to: to, body: body)) }
            if client.json {
                try printJSON(sent)
            } else {
                print(sent.id)
            }
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver a message to a simulator inbox, as a provider's callback would (needs org:admin).", discussion: "Example: kaito sms simulate --inbox inb_01J9Z3K4M5N6P7Q8R9S0T1V2W3 --from +15550001111 --body \"Your code is 482913\""
        )

        @Option(help: "The simulator inbox id (inb_...).")
        var inbox: String

        @Option(help: "The sender's number, E.164 (+15550001111).")
        var from: String

        @Option(help: "The message text.")
        var body: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let message = try await client.withClient { try await $0.simulate(inbox: inbox, from: from, body: body) }
            if client.json {
                try printJSON(message)
            } else {
                print(message.id)
            }
        }
    }
}

/// One status line on standard error, rewritten in place (only on a terminal).
struct ProgressLine {
    let enabled: Bool

    func show(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
