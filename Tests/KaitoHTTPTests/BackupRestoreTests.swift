import Foundation
import KaitoHTTP
import KaitoTestSupport
import Testing

@Suite("Restore refuses a malformed archive and writes nothing")
struct BackupRestoreTests {
    @Test("A malformed archive: an error, no data directory, no database", arguments: HostileTarArchives.all)
    func refused(archive: (String, [UInt8])) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let target = scratch.path + "/restored"
        #expect(throws: (any Error).self, "\(archive.0)") {
            try Backup.restore(archive.1, into: ServerConfiguration(dataDirectory: target))
        }
        #expect(!FileManager.default.fileExists(atPath: target), "\(archive.0)")
    }
}

extension BackupRestoreTests {
    @Test("An archive whose database is not SQLite is refused, although its manifest's checksum matches")
    func notSQLite() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        for database in [Array("hello".utf8), Array("SQLite format 3\u{0}".utf8), [UInt8](repeating: 0, count: 4096)] {
            let archive = try HostileTarArchives.backup(database: database)
            let target = scratch.path + "/restored-\(database.count)"
            let error = #expect(throws: (any Error).self) { try Backup.restore(archive, into: ServerConfiguration(dataDirectory: target)) }
            #expect("\(error.map { "\($0)" } ?? "")".contains("not an SQLite database"), "refused for another reason: \(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: target + "/kaito.sqlite"))
        }
    }
}
