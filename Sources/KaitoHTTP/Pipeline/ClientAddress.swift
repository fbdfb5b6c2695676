import Hummingbird
import KaitoCore
import NIOCore

/// The client's address: the socket's peer, unless that peer is a trusted proxy, in which case the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy. `X-Forwarded-For` from anyone else is ignored.
struct ClientAddress {
    let trustedProxies: [CIDR]

    func resolve(peer: SocketAddress?, forwardedFor: [String]) -> IPAddress? {
        guard let peer, let peerAddress = Self.address(of: peer) else { return nil }
        guard isTrusted(peerAddress) else { return peerAddress }
        // Every X-Forwarded-For header, in order, split at commas: the right-most hop was added last.
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            // A malformed entry from a trusted proxy ends the walk: the proxy's own address stands.
            guard let address = IPAddress(hop) else { return peerAddress }
            if !isTrusted(address) { return address }
        }
        return hops.first.flatMap(IPAddress.init) ?? peerAddress
    }

    private func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The socket's address read from its bytes (no text round trip).
    static func address(of socket: SocketAddress) -> IPAddress? {
        switch socket {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr) { IPAddress(packed: Array($0)) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { IPAddress(packed: Array($0)) }
        case .unixDomainSocket:
            return nil
        }
    }
}
