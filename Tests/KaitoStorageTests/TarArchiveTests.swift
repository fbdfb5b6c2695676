import Foundation
import KaitoStorage
import KaitoTestSupport
import Testing

@Suite("Tar archives: written and read back; every malformed archive refused with an error, never a trap")
struct TarArchiveTests {
    @Test("What write writes, read reads")
    func roundTrip() throws {
        let entries = [
            TarArchive.Entry(name: "manifest.json", mode: 0o600, contents: Array("{}\n".utf8)),
            TarArchive.Entry(name: "kaito.sqlite", mode: 0o644, contents: (0..<1500).map { UInt8(truncatingIfNeeded: $0) }),
            TarArchive.Entry(name: "dir/empty", mode: 0o600, contents: []),
        ]
        #expect(try TarArchive.read(TarArchive.write(entries)) == entries)
        #expect(try TarArchive.read(HostileTarArchives.valid).map(\.name) == ["manifest.json"])
    }

    @Test("A malformed archive is an error", arguments: HostileTarArchives.all)
    func malformed(archive: (String, [UInt8])) {
        let error = #expect(throws: TarArchive.Error.self, "\(archive.0)") { try TarArchive.read(archive.1) }
        #expect(error.map { "\($0)" }?.contains("\n") == false, "one line")
    }
}
