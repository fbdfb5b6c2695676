import Foundation

/// An IPv4 or IPv6 address, held as 16 bytes with IPv4 in its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so that
/// a v4 client seen on a dual-stack socket and a v4 CIDR compare alike.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    /// Parses dotted IPv4 or any IPv6 text form (zone ids such as `%eth0` are dropped).
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let address = trimmed.split(separator: "%", maxSplits: 1).first.map(String.init) ?? trimmed
        guard !address.isEmpty, address.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if address.contains("."), !address.contains(":"), inet_pton(AF_INET, address, &v4) == 1 {
            bytes = Self.mappedPrefix + withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        bytes = withUnsafeBytes(of: v6) { Array($0) }
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    /// An address from its 4 (IPv4) or 16 (IPv6) bytes in network order, as a socket holds it; nil for other lengths.
    public init?(packed: [UInt8]) {
        switch packed.count {
        case 4: bytes = Self.mappedPrefix + packed
        case 16: bytes = packed
        default: return nil
        }
    }

    public var isIPv4: Bool { Array(bytes.prefix(12)) == Self.mappedPrefix }

    public var description: String {
        if isIPv4 {
            var text: [UInt8] = []
            text.reserveCapacity(15)
            for (index, byte) in bytes[12...].enumerated() {
                if index > 0 { text.append(46) }
                if byte >= 100 { text.append(48 + byte / 100) }
                if byte >= 10 { text.append(48 + byte / 10 % 10) }
                text.append(48 + byte % 10)
            }
            return String(decoding: text, as: UTF8.self)
        }
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        return String(cString: buffer)
    }
}

/// An IPv4 or IPv6 network, such as `203.0.113.0/24` or `2001:db8::/32`. A bare address is a /32 or /128.
/// Host bits are cleared: `203.0.113.7/24` is the network `203.0.113.0/24`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    /// The prefix length over the 128-bit (mapped) form.
    let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(String(parts[0])) else { return nil }
        // The prefix counts bits of the notation used: `::ffff:10.0.0.0/104` is IPv6 notation for an IPv4 range.
        let writtenAsIPv4 = !parts[0].contains(":")
        let maximum = writtenAsIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maximum).contains(parsed), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = parsed
        }
        let prefix = writtenAsIPv4 ? 96 + length : length
        self.prefixLength = prefix
        self.network = IPAddress(bytes: Self.mask(address.bytes, prefix))
    }

    public func contains(_ address: IPAddress) -> Bool {
        Self.mask(address.bytes, prefixLength) == network.bytes
    }

    public var description: String {
        network.isIPv4 && prefixLength >= 96 ? "\(network)/\(prefixLength - 96)" : "\(network)/\(prefixLength)"
    }

    static func mask(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = max(0, min(8, prefix - index * 8))
            return bits == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
    }

    /// Parses a list, naming the first bad entry as `field[index]`.
    /// - Throws: `validation_failed`.
    public static func parseList(_ entries: [String], field: String) throws -> [CIDR] {
        guard entries.count <= 100 else { throw KaitoError.validation(field, "must list at most 100 networks") }
        return try entries.enumerated().map { index, entry in
            guard let cidr = CIDR(entry) else {
                throw KaitoError.validation("\(field)[\(index)]", "'\(entry.prefix(60))' is not an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32")
            }
            return cidr
        }
    }
}

extension IPAddress {
    /// What one client is counted as for connection limits: an IPv4 address itself, an IPv6 address's /64 (one host
    /// usually holds a whole /64, so counting single IPv6 addresses would be no limit at all).
    public var clientGroup: IPAddress {
        isIPv4 ? self : IPAddress(bytes: Array(bytes.prefix(8)) + [UInt8](repeating: 0, count: 8))
    }
}
