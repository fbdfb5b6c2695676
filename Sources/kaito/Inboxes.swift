import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient

struct Inboxes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation's SMS inboxes.", subcommands: [List.self, Create.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List inboxes (org:admin or sms:read): id, number, provider, label; --json for a JSON array.", discussion: "Example: kaito inboxes list")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let inboxes = try await client.withClient { kaito in try await allPages { try await kaito.inboxes(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(inboxes) }
            for inbox in inboxes { print("\(inbox.id)\t\(inbox.phoneNumber)\t\(inbox.provider)\t\(inbox.label ?? "-")") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an inbox for a phone number (org:admin) and print its id; --json for the inbox.", discussion: "Example: kaito inboxes create +15551234567 --provider twilio --label \"Shared phone\"")

        @Argument(help: "The number in E.164, such as +15551234567.")
        var phoneNumber: String

        @Option(help: "twilio (default) or simulator.")
        var provider: String?

        @Option(help: "A label, such as \"QA phone\".")
        var label: String?

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let inbox = try await client.withClient {
                try await $0.createInbox(InboxRequest(phoneNumber: phoneNumber, label: label, provider: provider))
            }
            if client.json { return try printJSON(inbox) }
            print(inbox.id)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an inbox and its messages (org:admin).", discussion: "Example: kaito inboxes delete inb_01J9Z3K4M5N6P7Q8R9S0T1V2W3")

        @Argument(help: "The inbox's id, inb_...")
        var id: String

        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await client.withClient { try await $0.deleteInbox(id: id) }
            note("deleted \(id)")
        }
    }
}
