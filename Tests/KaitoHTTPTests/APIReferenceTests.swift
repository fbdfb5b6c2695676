import Foundation
import KaitoCore
@testable import KaitoHTTP
import KaitoTestSupport
import Testing

/// docs/api.md is the API reference; these tests keep it complete. Its fixed forms (stated at its top): every
/// operation has a heading `` ### `METHOD /path` `` spelt as in openapi.json, and every problem code a heading
/// `### <code>` (so that `docs/api.md#<code>` is its anchor) whose first line is `HTTP <status>`.
@Suite("The API reference (docs/api.md) has every operation and every problem code")
struct APIReferenceTests {
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    /// The lines of docs/api.md.
    static func reference() throws -> [Substring] {
        let text = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("docs/api.md"), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The committed openapi.json (another test proves it is the document the server serves).
    static func openAPI() throws -> [String: Any] {
        let data = try Data(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("openapi.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// `METHOD /path` of every heading `` ### `METHOD /path` `` (any heading level), as often as it appears.
    static func operationHeadings(_ lines: [Substring]) -> [String] {
        lines.compactMap { line in
            guard line.hasPrefix("#") else { return nil }
            let text = line.drop { $0 == "#" }
            guard text.hasPrefix(" `"), text.hasSuffix("`") else { return nil }
            let inner = text.dropFirst(2).dropLast()
            let parts = inner.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, methods.contains(String(parts[0])), parts[1].hasPrefix("/") else { return nil }
            return String(inner)
        }
    }

    /// `code` of every heading `### code` whose text is a lowercase snake_case word, with the line after it that is
    /// not blank.
    static func codeHeadings(_ lines: [Substring]) -> [(code: String, first: String)] {
        lines.indices.compactMap { index in
            let line = lines[index]
            guard line.hasPrefix("### ") else { return nil }
            let code = line.dropFirst(4)
            guard !code.isEmpty, code.allSatisfy({ ("a"..."z").contains($0) || $0 == "_" }) else { return nil }
            let first = lines[(index + 1)...].first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
            return (String(code), String(first))
        }
    }

    /// Every problem code the server can answer with: each `KaitoError.Code` the sources declare, and each code the
    /// OpenAPI document lists in a problem response.
    static func problemCodes(in document: [String: Any]) throws -> Set<String> {
        let source = try String(
            contentsOf: TestEnvironment.packageRoot.appendingPathComponent("Sources/KaitoCore/KaitoError.swift"), encoding: .utf8)
        let declaration = try Regex(#"Code\(rawValue: "([a-z_]+)"\)"#)
        var codes = Set(source.matches(of: declaration).compactMap { $0.output[1].substring.map(String.init) })

        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let code = object["code"] as? [String: Any], let values = code["enum"] as? [String] {
                    codes.formUnion(values)
                }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        return codes
    }

    @Test("Every operation of openapi.json has a heading in docs/api.md, and every operation heading names one")
    func operations() throws {
        let document = try Self.openAPI()
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in item.keys where Self.methods.contains(method.uppercased()) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        #expect(operations.count > 40, "openapi.json was not read: \(operations.count) operations")
        #expect(operations.contains("GET /v1/tokens/{slug}/code"))

        let headings = try Self.operationHeadings(Self.reference())
        let documented = Set(headings)
        let missing = operations.subtracting(documented).sorted()
        #expect(missing.isEmpty, "operations without a heading `### `METHOD /path`` in docs/api.md: \(missing)")
        let stale = documented.subtracting(operations).sorted()
        #expect(stale.isEmpty, "docs/api.md documents operations that openapi.json does not have: \(stale)")
        let twice = Dictionary(grouping: headings, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(twice.isEmpty, "operations with more than one heading in docs/api.md: \(twice)")
    }

    @Test("Every problem code has a section `### <code>` in docs/api.md whose first line gives the status the server uses")
    func problemCodes() throws {
        let codes = try Self.problemCodes(in: Self.openAPI())
        #expect(codes.isSuperset(of: ["malformed_request", "not_found", "rate_limited", "internal_error"]), "codes were not read: \(codes.sorted())")

        let sections = try Self.codeHeadings(Self.reference())
        let documented = Dictionary(grouping: sections, by: { $0.code })
        for code in codes.sorted() {
            guard let found = documented[code] else {
                Issue.record("problem code \(code) has no section `### \(code)` in docs/api.md")
                continue
            }
            #expect(found.count == 1, "problem code \(code) has \(found.count) sections in docs/api.md: its anchor must be unique")
            let status = ProblemTable.status(for: KaitoError.Code(rawValue: code)).code
            #expect(found[0].first.hasPrefix("HTTP \(status)"), "docs/api.md#\(code) must begin `HTTP \(status)`, not `\(found[0].first)`")
        }
        let stale = Set(documented.keys).subtracting(codes).sorted()
        #expect(stale.isEmpty, "docs/api.md has sections for codes the server does not have: \(stale)")
    }
}
