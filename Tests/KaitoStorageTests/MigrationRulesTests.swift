import Foundation
import KaitoTestSupport
import Testing

/// docs/operations.md, "Upgrades": migrations only add, so that the previous release keeps running on the new schema
/// during a rolling upgrade. Removals are allowed only in migrations listed here, each naming the release that
/// stopped using what it removes.
@Suite("Migrations are additive (rolling upgrades)")
struct MigrationRulesTests {
    /// Migration file name → why its removals are safe. Empty: no migration has removed anything yet.
    static let removalReleases: [String: String] = [:]

    static let destructive = [
        #"\.drop\("#, #"\.dropColumn"#, #"\.drop\(table"#, #"\.drop\(index"#, #"\.rename"#, #"\.modifyColumn"#, #"\.update\(column"#,
        #"(?i)\bDROP\s+(TABLE|COLUMN|INDEX|CONSTRAINT)\b"#, #"(?i)\bRENAME\s+(TO|COLUMN)\b"#, #"(?i)\bALTER\s+COLUMN\b"#,
        #"(?i)\bSET\s+NOT\s+NULL\b"#,
    ]

    @Test("No migration drops, renames or retypes a table or column unless it is a listed removal release")
    func additiveOnly() throws {
        let directory = TestEnvironment.packageRoot.appendingPathComponent("Sources/KaitoStorage/Migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("Migration0") }.sorted()
        #expect(files.count >= 7, "\(files)")
        for file in files where Self.removalReleases[file] == nil {
            let source = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            // Comments may talk about dropping things; only code counts.
            let code = source.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }.joined(separator: "\n")
            for pattern in Self.destructive {
                #expect(code.range(of: pattern, options: .regularExpression) == nil, "\(file) matches \(pattern)")
            }
        }
    }

    @Test("The rule catches a removal")
    func catchesRemoval() {
        let removal = #"try await db.drop(table: "webhooks").run()"#
        #expect(Self.destructive.contains { removal.range(of: $0, options: .regularExpression) != nil })
        #expect(Self.destructive.contains { "ALTER TABLE keys DROP COLUMN hint".range(of: $0, options: .regularExpression) != nil })
        #expect(!Self.destructive.contains { #"try await db.alter(table: "users").column("x", type: .text).run()"#.range(of: $0, options: .regularExpression) != nil })
    }
}
