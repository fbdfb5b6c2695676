import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A receiver on a real loopback socket that misbehaves: by default it answers every request with `200` headers
/// promising a 1000-byte body, then trickles one byte of it per `interval` for as long as the client keeps the
/// connection open; with `answer`, it sends exactly those bytes (a `099` status line, garbage, nothing) and closes.
/// One thread per connection, off the concurrency pool; `stop()` closes everything.
public final class SlowReceiver: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let interval: TimeInterval
    private let answer: [UInt8]?
    private let lock = NSLock()
    private var open: [Int32] = []
    private var accepted = 0
    private var closed = 0
    private var stopped = false

    public var url: String { "http://127.0.0.1:\(port)/slow" }

    /// Connections accepted so far.
    public var connections: Int { lock.withLock { accepted } }
    /// Connections that the client has closed (the trickle could not be written any more).
    public var closedByClient: Int { lock.withLock { closed } }

    public init(interval: TimeInterval = 1, answer: [UInt8]? = nil) throws {
        self.interval = interval
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
            let keep = lock.withLock {
                if stopped { return false }
                accepted += 1
                open.append(connection)
                return true
            }
            guard keep else {
                close(connection)
                return
            }
            Thread.detachNewThread { [self] in trickle(connection) }
        }
    }

    private func trickle(_ connection: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        _ = recv(connection, &buffer, buffer.count, 0)
        if let answer {
            _ = write(connection, answer)
            shutdown(connection, Int32(SHUT_WR))
            // Read what the client still sends until it closes (at most 2 s): closing with unread bytes would reset
            // the connection, and a reset can discard the answer before the client has read it.
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            while recv(connection, &buffer, buffer.count, 0) > 0 {}
        }
        var ok = answer == nil && write(connection, Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n".utf8))
        while ok, !lock.withLock({ stopped }) {
            Thread.sleep(forTimeInterval: interval)
            ok = write(connection, [UInt8(ascii: ".")])
        }
        lock.withLock {
            if !ok { closed += 1 }
            if let index = open.firstIndex(of: connection) {
                open.remove(at: index)
                close(connection)
            }
        }
    }

    /// Writes all of `bytes`; false once the peer is gone (never SIGPIPE).
    private func write(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Waits until at least `count` connections have been accepted.
    public func waitForConnections(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while connections < count {
            guard ContinuousClock.now < deadline else { throw ReceiverFailure(description: "expected \(count) connections, had \(connections)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func stop() {
        lock.withLock {
            stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
            for connection in open { shutdown(connection, Int32(SHUT_RDWR)) }
        }
    }
}

/// A TCP socket bound to a free port on 127.0.0.1 (listening, when `listening`), and that port.
public func loopbackSocket(listening: Bool) throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ReceiverFailure(description: "socket: \(errno)") }
    var yes: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && (!listening || listen(descriptor, 16) == 0) && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else {
        close(descriptor)
        throw ReceiverFailure(description: "bind: \(errno)")
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}
