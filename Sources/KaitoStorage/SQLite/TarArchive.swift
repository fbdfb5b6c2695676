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

    public static func read(_ archive: [UInt8]) throws -> [Entry] {
        var entries: [Entry] = []
        var offset = 0
        while offset + 512 <= archive.count {
            let header = Array(archive[offset..<offset + 512])
            if header.allSatisfy({ $0 == 0 }) { return entries }
            func field(_ start: Int, _ length: Int) -> String {
                let bytes = header[start..<start + length].prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
            guard field(257, 5) == "ustar" else { throw Error.malformed("member \(entries.count + 1) has no ustar header") }
            var sum = header
            for index in 148..<156 { sum[index] = UInt8(ascii: " ") }
            guard let checksum = Int(field(148, 8), radix: 8), checksum == sum.reduce(0, { $0 + Int($1) }) else {
                throw Error.malformed("a header checksum is wrong")
            }
            guard let size = Int(field(124, 12), radix: 8), let mode = Int(field(100, 8), radix: 8) else {
                throw Error.malformed("a header has no size or mode")
            }
            let type = header[156]
            let start = offset + 512
            guard start + size <= archive.count else { throw Error.malformed("the archive is truncated") }
            if type == UInt8(ascii: "0") || type == 0 {
                entries.append(Entry(name: field(0, 100), mode: mode, contents: Array(archive[start..<start + size])))
            }
            offset = start + size + (512 - size % 512) % 512
        }
        throw Error.malformed("the archive has no end marker")
    }
}
