import Foundation

/// Finds the fields of a body that its `Decodable` type never reads, at any depth: the type is decoded once more
/// from the parsed body by a decoder that records every key the type asks for (or checks for) in every object it
/// opens. A key of such an object that was never asked for is unknown (`rate_limits.bogus`). Nested types need no
/// list of their fields: their `CodingKeys` are what they ask for.
final class KnownFieldsDecoder {
    /// The keys asked for, by the path of the object they were asked of ("" is the body).
    private(set) var known: [String: [String]] = [:]

    /// The paths of the fields below the top-level `fields` of `body` that `Value` does not read, and for each the
    /// fields it does read there. (The route's own list judges the top level.)
    static func unknownNestedFields<Value: Decodable>(
        of body: StrictJSON, below fields: [String], as type: Value.Type
    ) throws -> [(path: String, known: [String])] {
        let recorder = KnownFieldsDecoder()
        _ = try Value(from: Node(value: body, codingPath: [], recorder: recorder))
        guard case .object(let entries) = body else { return [] }
        return entries.filter { fields.contains($0.key) }.flatMap { recorder.unknown(in: $0.value, at: $0.key) }
    }

    fileprivate func record(_ key: String, at path: String) {
        if known[path]?.contains(key) == false { known[path]?.append(key) }
    }

    fileprivate func opened(_ path: String) {
        if known[path] == nil { known[path] = [] }
    }

    private func unknown(in value: StrictJSON, at path: String) -> [(path: String, known: [String])] {
        switch value {
        case .object(let entries):
            // An object the type never opened as one (a value it did not look into) is not judged here.
            guard let keys = known[path] else { return [] }
            return entries.flatMap { entry in
                let child = StrictJSON.path(path, key: entry.key)
                return keys.contains(entry.key) ? unknown(in: entry.value, at: child) : [(path: child, known: keys)]
            }
        case .array(let elements):
            return elements.enumerated().flatMap { unknown(in: $0.element, at: StrictJSON.path(path, index: $0.offset)) }
        default:
            return []
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce("") { path, key in key.intValue.map { StrictJSON.path(path, index: $0) } ?? StrictJSON.path(path, key: key.stringValue) }
    }

    /// One value of the body as a `Decoder`.
    fileprivate struct Node: Decoder, SingleValueDecodingContainer {
        let value: StrictJSON
        let codingPath: [any CodingKey]
        let recorder: KnownFieldsDecoder
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "not a \(type)"))
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case .object(let entries) = value else { throw mismatch([String: Any].self) }
            recorder.opened(KnownFieldsDecoder.path(codingPath))
            return KeyedDecodingContainer(Keyed(entries: entries, node: self))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard case .array(let elements) = value else { throw mismatch([Any].self) }
            return Unkeyed(elements: elements, node: self)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

        func decodeNil() -> Bool { value == .null }

        static func integer<I: FixedWidthInteger>(_ type: I.Type, _ text: String) -> I? {
            I(text, radix: 10) ?? Double(text).flatMap { I(exactly: $0) }
        }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard case .bool(let flag) = value else { throw mismatch(type) }
            return flag
        }

        func decode(_ type: String.Type) throws -> String {
            guard case .string(let text) = value else { throw mismatch(type) }
            return text
        }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            switch value {
            case .number(let text):
                if let integer = type as? any FixedWidthInteger.Type {
                    guard let parsed = Self.integer(integer, text) else { throw mismatch(type) }
                    return parsed as! T
                }
                if type == Double.self, let parsed = Double(text) { return parsed as! T }
                if type == Float.self, let parsed = Float(text) { return parsed as! T }
                if type == Decimal.self, let parsed = Decimal(string: text) { return parsed as! T }
            case .string(let text) where type == URL.self:
                guard let url = URL(string: text) else { throw mismatch(type) }
                return url as! T
            default:
                break
            }
            if type == Bool.self { return try decode(Bool.self) as! T }
            if type == String.self { return try decode(String.self) as! T }
            // A number type whose value is not a number: its own init(from:) would only ask this container again.
            if type is any Numeric.Type || type == URL.self { throw mismatch(type) }
            return try T(from: self)
        }
    }

    private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let entries: [(key: String, value: StrictJSON)]
        let node: Node
        var codingPath: [any CodingKey] { node.codingPath }
        var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

        func contains(_ key: Key) -> Bool {
            node.recorder.record(key.stringValue, at: KnownFieldsDecoder.path(codingPath))
            return entries.contains { $0.key == key.stringValue }
        }

        func child(_ key: Key) throws -> Node {
            guard contains(key), let entry = entries.first(where: { $0.key == key.stringValue }) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no \(key.stringValue)"))
            }
            return Node(value: entry.value, codingPath: codingPath + [key], recorder: node.recorder)
        }

        func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { node }
        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    private struct Unkeyed: UnkeyedDecodingContainer {
        let elements: [StrictJSON]
        let node: Node
        var currentIndex = 0
        var codingPath: [any CodingKey] { node.codingPath }
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        struct Index: CodingKey {
            var intValue: Int?
            var stringValue: String { "\(intValue ?? 0)" }
            init(intValue: Int) { self.intValue = intValue }
            init?(stringValue: String) { nil }
        }

        mutating func next() throws -> Node {
            guard !isAtEnd else { throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "at the end")) }
            defer { currentIndex += 1 }
            return Node(value: elements[currentIndex], codingPath: codingPath + [Index(intValue: currentIndex)], recorder: node.recorder)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }
}
