import Foundation
import KaitoCore

/// Just enough POSIX ustar to write and read Kaito's backups: regular files with a name, a mode and their bytes.
/// The archives open with any `tar` (`tar -tvf backup.tar`).
public enum TarArchive {
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var mode: Int
        public var contents: [UInt8]

        public init(name: String, mode: Int, contents: [UInt8]) {
            self.name = name
            self.mode = mode
            self.contents = contents
        }
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case nameTooLong(String)
        case malformed(String)

        public var description: String {
            switch self {
            case .nameTooLong(let name): return "the archive member name \(name) is longer than 100 bytes"
            case .malformed(let why): return "not a Kaito backup archive: \(why)"
            }
        }
    }

    public static func write(_ entries: [Entry], modified: Date = Date()) throws -> [UInt8] {
        var archive: [UInt8] = []
        for entry in entries {
            guard entry.name.utf8.count <= 100, !entry.name.isEmpty else { throw Error.nameTooLong(entry.name) }
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) {
                for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
            }
            func octal(_ value: Int, width: Int) -> String {
                let digits = String(value, radix: 8)
                return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            }
            put(entry.name, at: 0)
            put(octal(entry.mode, width: 8), at: 100)
            put(octal(0, width: 8), at: 108)
            put(octal(0, width: 8), at: 116)
            put(octal(entry.contents.count, width: 12), at: 124)
            put(octal(Int(max(0, Timestamp.unixSeconds(modified))), width: 12), at: 136)
            put("        ", at: 148)
            header[156] = UInt8(ascii: "0")
            put("ustar", at: 257)
            put("00", at: 263)
            let checksum = header.reduce(0) { $0 + Int($1) }
            put(octal(checksum, width: 7), at: 148)
            header[155] = UInt8(ascii: " ")
            archive += header
            archive += entry.contents
            archive += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
        }
        archive += [UInt8](repeating: 0, count: 1024)
        return archive
    }

    /// The regular files of `archive`, read strictly: octal numbers only, sizes within the bytes present, a valid
    /// checksum, relative names without `..` or NULs, each name once. Throws `Error.malformed`, never traps.
    public static func read(_ archive: [UInt8]) throws -> [Entry] {
        var entries: [Entry] = []
        var offset = 0
        while archive.count - offset >= 512 {
            let header = archive[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { return entries }
            let member = TarHeader(header, number: entries.count + 1)
            let (name, mode, size) = try (member.name(), member.number(at: 100, length: 8, "mode"), member.number(at: 124, length: 12, "size"))
            let start = offset + 512
            guard size <= archive.count - start else { throw Error.malformed("member \(member.number)'s size runs past the end of the archive") }
            guard entries.allSatisfy({ $0.name != name }) else { throw Error.malformed("member \(member.number) repeats the name \(name)") }
            entries.append(Entry(name: name, mode: mode, contents: Array(archive[start..<start + size])))
            let padding = (512 - size % 512) % 512
            guard padding <= archive.count - start - size else { throw Error.malformed("the archive is truncated") }
            offset = start + size + padding
        }
        throw Error.malformed(archive.count == offset ? "the archive has no end marker" : "the archive is truncated")
    }
}
