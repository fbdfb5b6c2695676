/// One 512-byte ustar header of an archive being read, with checked accessors: every field is validated, nothing in
/// it can make the reader trap (a negative, base-256 or oversized number, a name that escapes the directory).
struct TarHeader {
    let bytes: ArraySlice<UInt8>
    /// The member's position in the archive, from 1, for error messages.
    let number: Int

    init(_ bytes: ArraySlice<UInt8>, number: Int) {
        self.bytes = bytes
        self.number = number
    }

    /// The header's bytes `start..<start + length`, counted from the header's first byte.
    private func field(_ start: Int, _ length: Int) -> ArraySlice<UInt8> {
        bytes[bytes.startIndex + start..<bytes.startIndex + start + length]
    }

    private func malformed(_ why: String) -> TarArchive.Error { .malformed("member \(number) \(why)") }

    /// A non-negative octal number: optional leading spaces, the digits 0-7, then NULs or spaces to the end.
    /// Base-256 (a first byte with the high bit set), signs and other characters are refused.
    func number(at start: Int, length: Int, _ name: String) throws -> Int {
        let raw = field(start, length)
        guard let first = raw.first, first & 0x80 == 0 else { throw malformed("has a base-256 \(name), which Kaito does not write") }
        var value = 0
        var digits = 0
        var ended = false
        for byte in raw {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7") where !ended:
                // At most 11 digits in a 12-byte field: 8^11 fits in Int on every platform Kaito runs on.
                value = value * 8 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: " ") where digits == 0 && !ended:
                continue
            case 0, UInt8(ascii: " "):
                ended = true
            default:
                throw malformed("has a \(name) that is not an octal number")
            }
        }
        guard digits > 0, digits < length else { throw malformed("has no \(name)") }
        return value
    }

    /// The member's name, checked: a ustar header with a valid checksum, a regular file, a relative path in UTF-8
    /// without `..`, empty components or NULs.
    func name() throws -> String {
        let magic = field(257, 6)
        guard magic.starts(with: Array("ustar".utf8)), magic.last == 0 || magic.last == UInt8(ascii: " ") else {
            throw malformed("has no ustar header")
        }
        let stored = try number(at: 148, length: 8, "checksum")
        let computed = bytes.indices.reduce(0) { sum, index in
            let offset = index - bytes.startIndex
            return sum + ((148..<156).contains(offset) ? Int(UInt8(ascii: " ")) : Int(bytes[index]))
        }
        guard stored == computed else { throw TarArchive.Error.malformed("a header checksum is wrong (member \(number))") }
        let type = field(156, 1).first ?? 0
        guard type == UInt8(ascii: "0") || type == 0 else { throw malformed("is not a regular file (type \(Character(Unicode.Scalar(type))))") }
        let prefix = try text(field(345, 155))
        let name = try text(field(0, 100))
        let path = prefix.isEmpty ? name : prefix + "/" + name
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), !components.contains(where: { $0 == ".." || $0.isEmpty }) else {
            throw malformed("has a name that is empty, absolute or leaves the archive: \(String(path.prefix(100)).debugDescription)")
        }
        return path
    }

    /// A NUL-terminated UTF-8 field; a NUL followed by anything but NULs is refused.
    private func text(_ raw: ArraySlice<UInt8>) throws -> String {
        let content = raw.prefix { $0 != 0 }
        guard raw.dropFirst(content.count).allSatisfy({ $0 == 0 }) else { throw malformed("has a NUL inside its name") }
        let text = String(decoding: content, as: UTF8.self)
        guard text.utf8.elementsEqual(content) else { throw malformed("has a name that is not UTF-8") }
        return text
    }
}
