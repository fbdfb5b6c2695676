import Foundation

/// Which addresses webhook deliveries may connect to: public ones only, unless the operator allows ranges
/// (`KAITO_WEBHOOK_ALLOW_PRIVATE`). Refused: loopback, private, link-local (cloud metadata included), CGNAT,
/// unique-local, multicast, unspecified, reserved and benchmarking ranges, in IPv4, IPv6 and IPv4-mapped form.
public struct WebhookAddressPolicy: Sendable {
    public let allowed: [CIDR]

    public init(allowed: [CIDR] = []) { self.allowed = allowed }

    static let refused: [(String, String)] = [
        ("0.0.0.0/8", "unspecified"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local (cloud metadata)"), ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"), ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"),
        ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("fc00::/7", "unique-local"), ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"), ("64:ff9b::/96", "NAT64"), ("2001:db8::/32", "documentation"),
    ]
    static let refusedRanges: [(CIDR, String)] = refused.map { (CIDR($0.0)!, $0.1) }

    /// Why `address` is refused, or nil when a delivery may connect to it.
    public func refusal(for address: IPAddress) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        return Self.refusedRanges.first { $0.0.contains(address) }.map { "\(address) is a \($0.1) address" }
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
        let addresses = try await resolver.resolve(host)
        guard let first = addresses.first else { throw KaitoError.validation("url", "the host \(host) has no address") }
        for address in addresses {
            if let reason = refusal(for: address) {
                throw KaitoError.validation("url", "webhooks may not be sent to \(host): \(reason)")
            }
        }
        return first
    }
}
