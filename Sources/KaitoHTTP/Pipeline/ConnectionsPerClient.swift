import KaitoCore
import NIOConcurrencyHelpers
import NIOCore

/// How many connections each client address (an IPv6 client: its /64) holds, shared by every connection of the server: one client cannot
/// take all of `KAITO_MAX_CONNECTIONS` (and so every slot) for itself. Trusted proxies are not limited (every client
/// behind them shares their address).
final class ConnectionCounter: Sendable {
    private let counts = NIOLockedValueBox<[IPAddress: Int]>([:])
    let limit: Int
    let exempt: [CIDR]

    init(limit: Int, exempt: [CIDR]) {
        self.limit = limit
        self.exempt = exempt
    }

    /// Counts a new connection of `address`; false when it is one too many (the caller closes it, uncounted).
    func open(_ address: IPAddress) -> Bool {
        guard !exempt.contains(where: { $0.contains(address) }) else { return true }
        return counts.withLockedValue { counts in
            let current = counts[address, default: 0]
            guard current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    /// Forgets a connection `open` counted.
    func close(_ address: IPAddress) {
        guard !exempt.contains(where: { $0.contains(address) }) else { return }
        counts.withLockedValue { counts in
            let remaining = counts[address, default: 1] - 1
            counts[address] = remaining > 0 ? remaining : nil
        }
    }
}

/// Closes a connection at once when its client already holds `ConnectionCounter.limit` others.
final class ConnectionsPerClient: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let counter: ConnectionCounter
    private var counted: IPAddress?

    init(counter: ConnectionCounter) {
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard counted == nil, let text = context.channel.remoteAddress?.ipAddress, let address = IPAddress(text)?.clientGroup else { return }
        if counter.open(address) {
            counted = address
        } else {
            context.close(promise: nil)
        }
    }

    private func release() {
        if let address = counted { counter.close(address) }
        counted = nil
    }
}
