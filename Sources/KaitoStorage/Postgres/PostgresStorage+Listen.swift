import Foundation
import KaitoCore
import NIOConcurrencyHelpers
import Logging
import PostgresNIO
import ServiceLifecycle
import SQLKit

/// How a server hears of every server's changes: one connection that `LISTEN`s on the changes channel, proved alive by
/// the server's own heartbeats through `NOTIFY`; the caches are used only while it is.
extension PostgresStorage {
    /// The LISTEN connection's state: up, and when this server's own heartbeat last came back through it.
    struct Listening {
        var up = false
        var heartbeat = ContinuousClock.now
    }

    /// The LISTEN connection stopped delivering this server's heartbeats.
    struct ListenLost: Error {}

    /// How often a heartbeat goes out through `NOTIFY`, and how long without one coming back means the LISTEN
    /// connection is lost (a connection a firewall or failover dropped without a word): caches stop being used then.
    static let heartbeatInterval: Duration = .seconds(2)
    static let heartbeatTimeout: Duration = .seconds(6)

    /// Keys, tokens and subscriptions may be served from memory while the LISTEN connection is up: every change
    /// to them, by any server, publishes a `CacheTopic` that empties them here (this server's own at once, others'
    /// through `NOTIFY`, within the time a notification takes to arrive).
    public func cachesAreCurrent() -> Bool {
        listening.withLockedValue { $0.up && ContinuousClock.now - $0.heartbeat < Self.heartbeatTimeout }
    }
}

/// Holds one connection that LISTENs on the changes channel and hands every notification to `changes`; reconnects
/// after a failure. While it reconnects, long-polls still end by their own periodic re-read, and caches are not used
/// (and are emptied when it is back: notifications may have been missed meanwhile). One of `PostgresStorage.services`.
struct ChangeListener: Service {
    let client: PostgresClient
    let changes: ChangeHub
    let listening: NIOLockedValueBox<PostgresStorage.Listening>
    let logger: Logger

    /// Listens until cancelled or a graceful shutdown.
    func run() async throws {
        await cancelWhenGracefulShutdown { await listen() }
    }

    func listen() async {
        let (client, changes, listening, logger) = (self.client, self.changes, self.listening, self.logger)
        let heartbeat = "kaito.heartbeat." + UUID().uuidString
        let (heartbeatInterval, heartbeatTimeout) = (PostgresStorage.heartbeatInterval, PostgresStorage.heartbeatTimeout)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PendingTopics.channel) { notifications in
                        // Listening from here: what was cached before (while nothing could be missed, or not at
                        // all) is dropped once, then changes arrive as notifications.
                        listening.withLockedValue { $0 = PostgresStorage.Listening(up: true, heartbeat: .now) }
                        for topic in CacheTopic.all { changes.publish(topic) }
                        defer { listening.withLockedValue { $0.up = false } }
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for try await notification in notifications {
                                    if notification.payload == heartbeat {
                                        listening.withLockedValue { $0.heartbeat = .now }
                                    } else if !notification.payload.hasPrefix("kaito.heartbeat.") {
                                        changes.publish(notification.payload)
                                    }
                                }
                            }
                            group.addTask {
                                // This server's heartbeat, sent through the pool and expected back here.
                                while true {
                                    try await Task.sleep(for: heartbeatInterval)
                                    _ = try? await DatabaseDeadline.run(heartbeatInterval) {
                                        try await client.withConnection { pooled in
                                            try await pooled.sql().raw("SELECT pg_notify(\(bind: PendingTopics.channel), \(bind: heartbeat))").run()
                                        }
                                    }
                                    if ContinuousClock.now - listening.withLockedValue({ $0.heartbeat }) >= heartbeatTimeout {
                                        // Lost without a word: close it, and listen again on a new connection.
                                        listening.withLockedValue { $0.up = false }
                                        try? await connection.close()
                                        throw PostgresStorage.ListenLost()
                                    }
                                }
                            }
                            try await group.next()
                            group.cancelAll()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("the LISTEN connection failed; reconnecting", metadata: ["error_type": "\(type(of: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
