/// A JSON value read strictly (RFC 8259): objects keep their keys in order, numbers their text, and a key repeated
/// in any object at any depth is an error rather than a silent choice between two values.
indirect enum StrictJSON: Equatable {
    case object([(key: String, value: StrictJSON)])
    case array([StrictJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// Why a body is not strict JSON; `duplicateKey` names the key's path (`rate_limits.code`, `items[2].name`).
    enum Failure: Error, Equatable {
        case syntax
        case duplicateKey(path: String)
    }

    /// The deepest nesting of objects and arrays accepted.
    static let maximumDepth = 64

    static func == (left: StrictJSON, right: StrictJSON) -> Bool {
        switch (left, right) {
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.array(let a), .array(let b)): return a == b
        case (.string(let a), .string(let b)), (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    /// Parses one JSON text: a single value with only whitespace around it.
    static func parse(_ bytes: [UInt8]) throws(Failure) -> StrictJSON {
        var parser = StrictJSONParser(bytes: bytes)
        let value = try parser.value(path: "", depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .syntax }
        return value
    }

    /// `path` extended by an object key or an array index, written as `describe` writes decoding paths.
    static func path(_ path: String, key: String) -> String { path.isEmpty ? key : path + "." + key }
    static func path(_ path: String, index: Int) -> String { path + "[\(index)]" }
}

/// The recursive-descent reader behind `StrictJSON.parse`.
struct StrictJSONParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ literal: String) throws(StrictJSON.Failure) {
        for byte in literal.utf8 {
            guard current == byte else { throw .syntax }
            index += 1
        }
    }

    mutating func value(path: String, depth: Int) throws(StrictJSON.Failure) -> StrictJSON {
        guard depth <= StrictJSON.maximumDepth else { throw .syntax }
        skipWhitespace()
        switch current {
        case UInt8(ascii: "{"):
            index += 1
            var entries: [(key: String, value: StrictJSON)] = []
            var seen: Set<String> = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { index += 1; return .object(entries) }
            while true {
                skipWhitespace()
                let key = try string()
                let keyPath = StrictJSON.path(path, key: key)
                guard seen.insert(key).inserted else { throw .duplicateKey(path: keyPath) }
                skipWhitespace()
                try expect(":")
                entries.append((key, try value(path: keyPath, depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                try expect("}")
                return .object(entries)
            }
        case UInt8(ascii: "["):
            index += 1
            var elements: [StrictJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                elements.append(try value(path: StrictJSON.path(path, index: elements.count), depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                try expect("]")
                return .array(elements)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func digits() throws(StrictJSON.Failure) {
        let start = index
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        guard index > start else { throw .syntax }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func number() throws(StrictJSON.Failure) -> String {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") { index += 1 } else { try digits() }
        if current == UInt8(ascii: ".") { index += 1; try digits() }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            try digits()
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func hex4() throws(StrictJSON.Failure) -> UInt32 {
        // Exactly four hex digits (`UInt32(_:radix:)` alone would also take a sign, `\u+041`).
        guard bytes.count - index >= 4 else { throw .syntax }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = value << 4 | UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = value << 4 | UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw .syntax
            }
        }
        index += 4
        return value
    }

    /// A string: valid UTF-8, no raw control characters, escapes decoded (surrogate pairs joined, lone ones refused).
    private mutating func string() throws(StrictJSON.Failure) -> String {
        try expect("\"")
        var scalars = String.UnicodeScalarView()
        var run = index
        func flush(_ end: Int) throws(StrictJSON.Failure) {
            let raw = bytes[run..<end]
            let text = String(decoding: raw, as: UTF8.self)
            guard text.utf8.elementsEqual(raw) else { throw .syntax }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = current, byte >= 0x20 else { throw .syntax }
            if byte == UInt8(ascii: "\"") {
                try flush(index)
                index += 1
                return String(scalars)
            }
            guard byte == UInt8(ascii: "\\") else { index += 1; continue }
            try flush(index)
            index += 1
            guard let escape = current else { throw .syntax }
            index += 1
            let simple: [UInt8: Unicode.Scalar] = [
                UInt8(ascii: "\""): "\"", UInt8(ascii: "\\"): "\\", UInt8(ascii: "/"): "/", UInt8(ascii: "b"): "\u{08}",
                UInt8(ascii: "f"): "\u{0C}", UInt8(ascii: "n"): "\n", UInt8(ascii: "r"): "\r", UInt8(ascii: "t"): "\t",
            ]
            if let scalar = simple[escape] {
                scalars.append(scalar)
            } else if escape == UInt8(ascii: "u") {
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    try expect("\\u")
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw .syntax }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw .syntax }
                scalars.append(scalar)
            } else {
                throw .syntax
            }
            run = index
        }
    }
}
