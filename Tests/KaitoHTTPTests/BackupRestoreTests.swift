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
