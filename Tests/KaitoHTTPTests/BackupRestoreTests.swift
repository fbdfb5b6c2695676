import Foundation
import KaitoHTTP
import KaitoTestSupport
import Testing

@Suite("Restore refuses a malformed archive and writes nothing")
struct BackupRestoreTests {
    @Test("A malformed archive: an error, no data directory, no database", arguments: HostileTarArchives.all)
    func refused(archive: (String, [UInt8])) async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let target = scratch.path + "/restored"
        await #expect(throws: (any Error).self, "\(archive.0)") {
            try await Backup.restore(archive.1, into: ServerConfiguration(dataDirectory: target))
        }
        #expect(!FileManager.default.fileExists(atPath: target), "\(archive.0)")
    }
}

extension BackupRestoreTests {
    @Test("An archive whose database is not a sound Kaito database of its master key is refused, although its checksum matches")
    func notKaitoDatabase() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        // A real SQLite file that is not Kaito's, a truncated one, one with a page overwritten.
        let foreign = scratch.path + "/foreign.sqlite"
        let make = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1]); db.execute("create table x(a)")
            db.executemany("insert into x values (?)", [("row %d" % i * 20,) for i in range(400)]); db.commit()
            """
        _ = try await TestEnvironment.runPython(make, [foreign])
        let sound = Array(try Data(contentsOf: URL(fileURLWithPath: foreign)))
        var overwritten = sound
        overwritten.replaceSubrange(4096..<4160, with: [UInt8](repeating: 0xAB, count: 64))
        let cases: [(String, [UInt8], String)] = [
            ("text", Array("hello".utf8), "not an SQLite database"), ("header only", Array("SQLite format 3\u{0}".utf8), "not an SQLite database"),
            ("zeros", [UInt8](repeating: 0, count: 4096), "not an SQLite database"),
            ("foreign", sound, "not a Kaito database"), ("truncated", Array(sound.prefix(sound.count / 2)), ""),
            ("overwritten page", overwritten, ""),
        ]
        for (name, database, reason) in cases {
            let target = scratch.path + "/restored-\(name)"
            let error = await #expect(throws: (any Error).self, "\(name)") {
                try await Backup.restore(try HostileTarArchives.backup(database: database), into: ServerConfiguration(dataDirectory: target))
            }
            if !reason.isEmpty { #expect("\(error.map { "\($0)" } ?? "")".contains(reason), "\(name): \(String(describing: error))") }
            #expect(!FileManager.default.fileExists(atPath: target + "/kaito.sqlite"), "\(name)")
            #expect(!FileManager.default.fileExists(atPath: target + "/kaito.sqlite.restoring"), "\(name)")
        }
    }
}
