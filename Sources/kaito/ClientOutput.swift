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

/// Prints a line to standard error: what a command did, beside the value it prints on standard output.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
