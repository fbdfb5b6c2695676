import Foundation
import KaitoTestSupport
import Testing

/// docs/configuration.md against the code: every `KAITO_*` variable the sources read and every option the commands
/// declare is on the page, and the page names nothing that does not exist.
@Suite("The configuration reference matches the code")
struct ConfigurationReferenceTests {
    static let root = TestEnvironment.packageRoot

    static func matches(_ pattern: String, in text: String) throws -> Set<String> {
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return Set(regex.matches(in: text, range: range).compactMap { Range($0.range(at: 1), in: text).map { String(text[$0]) } })
    }

    @Test("Every KAITO_ variable the sources read is documented, and every documented one is read")
    func environment() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        var read: Set<String> = []
        let sources = Self.root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        for case let file as URL in files where file.pathExtension == "swift" {
            // Only names the code reads: `environment["KAITO_X"]`, `["KAITO_X"]` lookups.
            read.formUnion(try Self.matches(#"\[\"(KAITO_[A-Z_]+)\"\]"#, in: try String(contentsOf: file, encoding: .utf8)))
        }
        #expect(read.count >= 10, "\(read)")
        let documented = try Self.matches(#"`(KAITO_[A-Z_]+)`"#, in: page)
        #expect(read.subtracting(documented).isEmpty, "read but not documented: \(read.subtracting(documented).sorted())")
        #expect(documented.subtracting(read).isEmpty, "documented but never read: \(documented.subtracting(read).sorted())")
    }

    @Test("Every option of serve and of the client commands is documented, and every documented option exists")
    func options() async throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let kaito = try ServerProcess.executable
        var declared: [String: Set<String>] = [:]
        for command in [["serve"], ["tokens", "list"], ["code"], ["admin", "create-key"], ["admin", "rotate-bootstrap-key"], ["webhook", "verify"], ["migrate"], ["audit", "verify"]] {
            let help = try await run(kaito, command + ["--help"])
            #expect(help.status == 0, "\(command)")
            declared[command.joined(separator: " ")] = try Self.matches(#"(--[a-z][a-z-]+)"#, in: help.output).subtracting(["--help", "--version"])
        }
        let all = declared.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let documented = try Self.matches(#"`(--[a-z][a-z-]+)"#, in: page)
        // The settings of the server and the options every client command shares must each have a row.
        for command in ["serve", "tokens list"] {
            let missing = declared[command, default: []].subtracting(documented)
            #expect(missing.isEmpty, "\(command) options not documented: \(missing.sorted())")
        }
        #expect(documented.subtracting(all).isEmpty, "documented options no command has: \(documented.subtracting(all).sorted())")
    }
}
