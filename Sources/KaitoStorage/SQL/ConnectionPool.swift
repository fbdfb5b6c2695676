/// A fixed set of connections lent out one task at a time, in FIFO order.
///
/// A lease is exclusive: statements of one unit of work (`BEGIN` … `COMMIT`) never interleave with another
/// task's on the same connection. The SQLite store uses a pool of one for its writer and a few for readers.
actor ConnectionPool<Connection: Sendable> {
    private var idle: [Connection]
    private var waiters: [CheckedContinuation<Connection, Never>] = []

    init(_ connections: [Connection]) {
        precondition(!connections.isEmpty)
        self.idle = connections
    }

    func lease() async -> Connection {
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ connection: Connection) {
        if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }

    /// Runs `body` with a leased connection and returns it afterwards, also when `body` throws.
    nonisolated func withConnection<T: Sendable>(_ body: (Connection) async throws -> T) async throws -> T {
        let connection = await lease()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Every connection, once they are all idle (for closing).
    func drain(count: Int) async -> [Connection] {
        var all: [Connection] = []
        while all.count < count { all.append(await lease()) }
        return all
    }
}
