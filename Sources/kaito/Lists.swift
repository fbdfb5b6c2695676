import ArgumentParser
import Foundation
import KaitoAPIModels
import KaitoClient

/// Prints `value` as sorted JSON on one line.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Every page of a list, following `next_cursor`.
func allPages<Item>(_ fetch: (String?) async throws -> ListResponse<Item>) async throws -> [Item] {
    var items: [Item] = []
    var cursor: String?
    repeat {
        let page = try await fetch(cursor)
        items += page.data
        cursor = page.nextCursor
    } while cursor != nil
    return items
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation's tokens.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the tokens the key may see (tokens:read): slug, algorithm, digits, period; --json for a JSON array.")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let tokens = try await client.withClient { kaito in try await allPages { try await kaito.tokens(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(tokens) }
            for token in tokens { print("\(token.slug)\t\(token.algorithm)\t\(token.digits)\t\(token.period)") }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation's keys.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the organisation's keys (org:admin): id, hint, name, scopes, revoked; --json for a JSON array.")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let keys = try await client.withClient { kaito in try await allPages { try await kaito.keys(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(keys) }
            for key in keys {
                print("\(key.id)\t\(key.hint)\t\(key.name)\t\(key.scopes.joined(separator: ","))\t\(key.revokedAt == nil ? "active" : "revoked")")
            }
        }
    }
}

struct Inboxes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The organisation's SMS inboxes.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List inboxes (org:admin or sms:read): id, number, provider, label; --json for a JSON array.")

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let inboxes = try await client.withClient { kaito in try await allPages { try await kaito.inboxes(limit: 200, cursor: $0) } }
            if client.json { return try printJSON(inboxes) }
            for inbox in inboxes { print("\(inbox.id)\t\(inbox.phoneNumber)\t\(inbox.provider)\t\(inbox.label ?? "-")") }
        }
    }
}
