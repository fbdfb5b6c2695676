import Foundation

/// Which addresses webhook deliveries may connect to: globally reachable ones only, unless the operator allows ranges
/// (`KAITO_WEBHOOK_ALLOW_PRIVATE`). The refused ranges are `specialPurpose`: the IANA special-purpose address
/// registries' entries that are not globally reachable, multicast, and the IPv6 forms that carry an IPv4 address
/// Kaito cannot check. An IPv4-mapped address (`::ffff:a.b.c.d`) is its IPv4 address, and a NAT64 address
/// (`64:ff9b::a.b.c.d`) is refused when the IPv4 address it embeds is.
public struct WebhookAddressPolicy: Sendable {
    public let allowed: [CIDR]

    public init(allowed: [CIDR] = []) { self.allowed = allowed }

    /// One refused range: the network, what it is, and the RFC that assigns it.
    public struct Range: Sendable, CustomStringConvertible {
        public let network: CIDR
        public let name: String
        public let rfc: String
        public var description: String { "\(network) (\(name), \(rfc))" }

        init(_ network: String, _ name: String, _ rfc: String) {
            self.network = CIDR(network)!
            self.name = name
            self.rfc = rfc
        }
    }

    /// The IANA IPv4 and IPv6 Special-Purpose Address Registries' entries whose "Globally Reachable" is False (or N/A),
    /// plus multicast and the tunnels to IPv4. Two blocks are refused whole although the registry marks a few
    /// anycast entries inside them as reachable (192.0.0.9-10, 2001:1::1-3, AMT, ORCHIDv2, DRIP): no receiver lives there.
    public static let specialPurpose: [Range] = [
        Range("0.0.0.0/8", "\"this network\"", "RFC 791"),
        Range("10.0.0.0/8", "private", "RFC 1918"),
        Range("100.64.0.0/10", "carrier-grade NAT (shared address space)", "RFC 6598"),
        Range("127.0.0.0/8", "loopback", "RFC 1122"),
        Range("169.254.0.0/16", "link-local (cloud metadata)", "RFC 3927"),
        Range("172.16.0.0/12", "private", "RFC 1918"),
        Range("192.0.0.0/24", "IETF protocol assignments", "RFC 6890"),
        Range("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
        Range("192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526"),
        Range("192.168.0.0/16", "private", "RFC 1918"),
        Range("198.18.0.0/15", "benchmarking", "RFC 2544"),
        Range("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
        Range("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
        Range("224.0.0.0/4", "multicast", "RFC 5771"),
        Range("240.0.0.0/4", "reserved (and limited broadcast)", "RFC 1112, RFC 919"),
        Range("::/96", "IPv4-compatible IPv6 (unspecified and loopback included)", "RFC 4291"),
        Range("::ffff:0:0:0/96", "IPv4-translated", "RFC 2765"),
        Range("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "RFC 8215"),
        Range("100::/64", "discard-only", "RFC 6666"),
        Range("100:0:0:1::/64", "dummy IPv6 prefix", "RFC 9780"),
        Range("2001::/23", "IETF protocol assignments", "RFC 2928"),
        Range("2001::/32", "Teredo (tunnels to an IPv4 address)", "RFC 4380"),
        Range("2001:db8::/32", "documentation", "RFC 3849"),
        Range("2002::/16", "6to4 (tunnels to an IPv4 address)", "RFC 3056"),
        Range("3fff::/20", "documentation", "RFC 9637"),
        Range("5f00::/16", "segment routing SIDs", "RFC 9602"),
        Range("fc00::/7", "unique-local", "RFC 4193"),
        Range("fe80::/10", "link-local", "RFC 4291"),
        Range("fec0::/10", "deprecated site-local", "RFC 3879"),
        Range("ff00::/8", "multicast", "RFC 4291"),
    ]

    /// The well-known NAT64 prefix: globally reachable itself, its last 32 bits are the IPv4 address reached.
    static let nat64 = CIDR("64:ff9b::/96")!

    /// Why `address` is refused, or nil when a delivery may connect to it.
    public func refusal(for address: IPAddress) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        if Self.nat64.contains(address) {
            let embedded = IPAddress(bytes: IPAddress.mappedPrefix + address.bytes.suffix(4))
            guard allowed.allSatisfy({ !$0.contains(embedded) }), let range = Self.range(of: embedded) else { return nil }
            return "\(address) is a NAT64 address of \(embedded), a \(range.name) address"
        }
        return Self.range(of: address).map { "\(address) is a \($0.name) address" }
    }

    static func range(of address: IPAddress) -> Range? {
        specialPurpose.first { $0.network.contains(address) }
    }
}

/// Resolves host names for webhook deliveries. Injected, so that tests can answer differently at registration and
/// at delivery (DNS rebinding).
public protocol HostResolver: Sendable {
    /// The addresses of `host` (an IP literal resolves to itself).
    func resolve(_ host: String) async throws -> [IPAddress]
}

/// The system resolver (`getaddrinfo`), off the cooperative thread pool.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(_ host: String) async throws -> [IPAddress] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = IPAddress(bare) { return [literal] }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(bare, nil, &hints, &result)
                guard status == 0 else {
                    continuation.resume(throwing: KaitoError(.validationFailed, "the host \(bare) does not resolve"))
                    return
                }
                defer { freeaddrinfo(result) }
                var addresses: [IPAddress] = []
                var cursor = result
                while let info = cursor?.pointee {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0,
                       let address = IPAddress(String(cString: buffer)), !addresses.contains(address) {
                        addresses.append(address)
                    }
                    cursor = info.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}

extension WebhookAddressPolicy {
    /// Resolves `host` and checks every address; returns the one to connect to.
    /// - Throws: `validation_failed` naming the refused address class.
    public func check(host: String, resolver: any HostResolver) async throws -> IPAddress {
        // A zone id (`fe80::1%eth0`) picks a local interface: never part of a webhook's address.
        guard !host.contains("%") else { throw KaitoError.validation("url", "the host must not contain a zone id (%)") }
        // For a name, one answer whether it does not resolve or resolves somewhere refused, never which address or
        // class: the refusal must not tell an org admin which internal names exist or what they resolve to.
        let isName = IPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) == nil
        let unreachable = KaitoError.validation("url", "webhooks may not be sent to \(host): it does not resolve to a publicly reachable address")
        let addresses: [IPAddress]
        do {
            addresses = try await resolver.resolve(host)
        } catch {
            throw isName ? unreachable : error
        }
        guard let first = addresses.first else { throw unreachable }
        for address in addresses {
            if let reason = refusal(for: address) {
                throw isName ? unreachable : KaitoError.validation("url", "webhooks may not be sent to \(host): \(reason)")
            }
        }
        return first
    }
}
