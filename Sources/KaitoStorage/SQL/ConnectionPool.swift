/// A fixed set of connections lent out one task at a time, in FIFO order.
///
/// A lease is exclusive: statements of one unit of work (`BEGIN` … `COMMIT`) never interleave with another
/// task's on the same connection. The SQLite store uses a pool of one for its writer and a few for readers.
actor ConnectionPool<Connection: Sendable> {
    private var idle: [Connection]
    private var waiters: [CheckedContinuation<Connection?, Never>] = []
    private var isClosed = false

    init(_ connections: [Connection]) {
        precondition(!connections.isEmpty)
        self.idle = connections
    }

    /// A connection, or nil once the pool is closed.
    func lease() async -> Connection? {
        if isClosed { return nil }
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ connection: Connection) {
        if isClosed {
            closing.append(connection)
            if closing.count == expectedOnClose { closeWaiter?.resume(); closeWaiter = nil }
        } else if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }

    /// Runs `body` with a leased connection and returns it afterwards, also when `body` throws.
    /// - Throws: `PoolClosed` once the pool is closed.
    nonisolated func withConnection<T: Sendable>(_ body: (Connection) async throws -> T) async throws -> T {
        guard let connection = await lease() else { throw PoolClosed() }
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    private var closing: [Connection] = []
    private var expectedOnClose = 0
    private var closeWaiter: CheckedContinuation<Void, Never>?

    /// Closes the pool: waiting and future leases get nil; returns all `count` connections once every lease
    /// has ended.
    func close(count: Int) async -> [Connection] {
        isClosed = true
        for waiter in waiters { waiter.resume(returning: nil) }
        waiters.removeAll()
        closing += idle
        idle.removeAll()
        expectedOnClose = count
        if closing.count < count {
            await withCheckedContinuation { closeWaiter = $0 }
        }
        return closing
    }
}

/// The pool was closed; the database is no longer available.
struct PoolClosed: Error {}
