import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A receiver on a real loopback socket that answers every request with exactly `answer`'s bytes and closes: for
/// answers no well-behaved server sends (a `099` status line, garbage, nothing at all). One thread per connection.
public final class RawReceiver: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let answer: [UInt8]
    private let lock = NSLock()
    private var accepted = 0
    private var stopped = false

    public var url: String { "http://127.0.0.1:\(port)/raw" }
    /// Connections accepted so far.
    public var connections: Int { lock.withLock { accepted } }

    public init(answer: [UInt8]) throws {
        self.answer = answer
        let (fd, port) = try loopbackSocket(listening: true)
        listener = fd
        self.port = port
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            guard lock.withLock({ stopped ? false : { accepted += 1; return true }() }) else {
                close(connection)
                return
            }
            let answer = self.answer
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                _ = recv(connection, &buffer, buffer.count, 0)
                _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                shutdown(connection, Int32(SHUT_WR))
                Thread.sleep(forTimeInterval: 0.2)
                close(connection)
            }
        }
    }

    public func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
