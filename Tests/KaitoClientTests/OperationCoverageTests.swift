import Foundation
import Testing

/// The SDK covers the API: every operation of the committed openapi.json has a method of `KaitoClient` whose doc
/// comment starts with that operation (`/// \`GET /v1/tokens\``), and no method names an operation that is gone.
@Suite("KaitoClient covers every operation of openapi.json")
struct OperationCoverageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("One method per operation (the Twilio callbacks are Twilio's to call)")
    func everyOperation() throws {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.root.appendingPathComponent("openapi.json"))) as? [String: Any]
        let paths = try #require(document?["paths"] as? [String: [String: Any]])
        let operations = Set(paths.flatMap { path, methods in methods.keys.map { "\($0.uppercased()) \(path)" } })
            .filter { !$0.contains(" /providers/") }
        var documented: [String] = []
        let sources = Self.root.appendingPathComponent("Sources/KaitoClient")
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let lines = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() {
                let text = line.trimmingCharacters(in: .whitespaces)
                guard text.hasPrefix("/// `"), let close = text.dropFirst(5).firstIndex(of: "`") else { continue }
                let operation = String(text.dropFirst(5)[..<close]).split(separator: "?").first.map(String.init) ?? ""
                guard operation.split(separator: " ").first.map({ ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(String($0)) }) == true else { continue }
                // The comment belongs to a public method: the next line that is not a comment declares it.
                let declaration = lines[(index + 1)...].first { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("///") } ?? ""
                #expect(declaration.contains("public func "), "\(operation): \(declaration)")
                documented.append(operation)
            }
        }
        #expect(operations.subtracting(documented).isEmpty, "operations without a method: \(operations.subtracting(documented).sorted())")
        #expect(Set(documented).subtracting(operations).isEmpty, "methods of operations that do not exist: \(Set(documented).subtracting(operations).sorted())")
        #expect(documented.count == Set(documented).count, "an operation with two methods: \(documented.sorted())")
        #expect(operations.count >= 50 && documented.count == operations.count, "\(operations.count) operations, \(documented.count) methods")
    }
}
