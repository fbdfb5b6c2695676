import Crypto
import Foundation
import KaitoCore
import KaitoStorage

/// Malformed and hostile tar archives, by class: each must be refused by the reader with an error, never a trap.
public enum HostileTarArchives {
    /// A valid archive of one member `manifest.json` (512-byte header, one block of contents, the end marker).
    public static let valid: [UInt8] = try! TarArchive.write([TarArchive.Entry(name: "manifest.json", mode: 0o600, contents: Array("{}\n".utf8))])

    /// `archive` with `bytes` written at `offset` in the first header and its checksum recomputed, so that only the
    /// field under test is wrong.
    public static func patched(_ archive: [UInt8] = valid, at offset: Int, _ bytes: [UInt8], header: Int = 0) -> [UInt8] {
        var archive = archive
        archive.replaceSubrange(header + offset..<header + offset + bytes.count, with: bytes)
        archive.replaceSubrange(header + 148..<header + 156, with: Array("        ".utf8))
        let sum = archive[header..<header + 512].reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        archive.replaceSubrange(header + 148..<header + 155, with: Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0])
        return archive
    }

    static func field(_ text: String, width: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        return bytes + [UInt8](repeating: 0, count: max(0, width - bytes.count))
    }

    /// (what is wrong, the archive).
    public static let all: [(String, [UInt8])] = {
        let two = try! TarArchive.write([
            TarArchive.Entry(name: "manifest.json", mode: 0o600, contents: [1]),
            TarArchive.Entry(name: "kaito.sqlite", mode: 0o600, contents: [2]),
        ])
        var cases: [(String, [UInt8])] = [
            ("empty archive", []),
            ("only part of a header", Array(valid.prefix(300))),
            ("header without contents", Array(valid.prefix(512))),
            ("contents cut short", Array(valid.prefix(520))),
            ("no end marker", Array(valid.prefix(1024))),
            ("half an end marker block", Array(valid.prefix(1024 + 100))),
            ("bad checksum", { var bad = valid; bad[0] ^= 0x20; return bad }()),
            ("non-octal checksum", { var bad = valid; bad.replaceSubrange(148..<156, with: Array("0000x9\0 ".utf8)); return bad }()),
            ("no ustar magic", patched(at: 257, Array(repeating: 0, count: 8))),
            ("negative size", patched(at: 124, field("-0000000001", width: 12))),
            ("negative size, short", patched(at: 124, field("-1", width: 12))),
            ("size with a plus sign", patched(at: 124, field("+0000000003", width: 12))),
            ("size past the end", patched(at: 124, field("77777777777", width: 12))),
            ("size one past the end", patched(at: 124, field(String(valid.count - 512 + 1, radix: 8), width: 12))),
            ("non-octal size", patched(at: 124, field("00000000089", width: 12))),
            ("hexadecimal size", patched(at: 124, field("0x3", width: 12))),
            ("size of spaces only", patched(at: 124, Array(repeating: UInt8(ascii: " "), count: 12))),
            ("size of NULs only", patched(at: 124, Array(repeating: 0, count: 12))),
            ("size with digits after its end", patched(at: 124, field("3 7", width: 12))),
            ("size filling the whole field", patched(at: 124, Array(repeating: UInt8(ascii: "7"), count: 12))),
            ("base-256 size", patched(at: 124, [0x80] + Array(repeating: 0, count: 10) + [3])),
            ("negative base-256 size", patched(at: 124, Array(repeating: 0xFF, count: 12))),
            ("non-octal mode", patched(at: 100, field("0000abc", width: 8))),
            ("negative mode", patched(at: 100, field("-000600", width: 8))),
            ("parent directory name", patched(at: 0, field("../manifest.json", width: 100))),
            ("parent directory inside the name", patched(at: 0, field("data/../../etc/passwd", width: 100))),
            ("absolute name", patched(at: 0, field("/etc/passwd", width: 100))),
            ("NUL inside the name", patched(at: 0, field("manifest.json\0../../x", width: 100))),
            ("empty name", patched(at: 0, Array(repeating: 0, count: 100))),
            ("empty path component", patched(at: 0, field("a//manifest.json", width: 100))),
            ("absolute ustar prefix", patched(at: 345, field("/etc", width: 155))),
            ("parent directory in the ustar prefix", patched(at: 345, field("..", width: 155))),
            ("name not UTF-8", patched(at: 0, field("\u{FF}", width: 100).map { $0 == 0xC3 ? 0xFF : $0 })),
            ("symbolic link", patched(at: 156, Array("2".utf8))),
            ("hard link", patched(at: 156, Array("1".utf8))),
            ("directory", patched(at: 156, Array("5".utf8))),
            ("pax extended header", patched(at: 156, Array("x".utf8))),
            ("repeated name", patched(two, at: 0, field("manifest.json", width: 100), header: 1024)),
            ("negative size in the second member", patched(two, at: 124, field("-0000000001", width: 12), header: 1024)),
        ]
        cases.append(("garbage", (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
        return cases
    }()
}

extension HostileTarArchives {
    /// A well-formed backup archive of `database`, its manifest's checksum matching: to test what restore makes of
    /// the database itself.
    public static func backup(database: [UInt8]) throws -> [UInt8] {
        let manifest = """
            {"created_at": "2026-01-01T00:00:00Z", "database_sha256": "\(JSONText.hexString(SHA256.hash(data: database)))", \
            "format": "kaito-backup/1", "includes_master_key": false, "master_key_id": "mk_0000000000000000"}
            """
        return try TarArchive.write([
            TarArchive.Entry(name: "manifest.json", mode: 0o600, contents: Array(manifest.utf8)),
            TarArchive.Entry(name: "kaito.sqlite", mode: 0o600, contents: database),
        ])
    }
}
