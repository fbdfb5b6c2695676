import ArgumentParser
import Hummingbird
import KaitoHTTP
import Foundation
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the Kaito server.",
        discussion: """
            With no configuration at all: SQLite and a generated master key in ./kaito-data, listening on
            127.0.0.1:8080. On first start it creates the organisation 'default' and writes an org:admin key
            to <data-dir>/bootstrap-admin.key (mode 0600).
            Example: kaito serve --port 8080 --data-dir /var/lib/kaito
            """
    )

    @OptionGroup var options: ServerOptions

    /// One service group: the database's services first (PostgreSQL's connection pool and LISTEN connection), then
    /// the server over them; SIGTERM or SIGINT stops them in reverse order, the database's last.
    func run() async throws {
        Self.keepFreedMemory()
        let logger = LogSetup.makeLogger()
        let configuration = try options.configuration()
        let opening: Runtime.Opening
        do {
            opening = try Runtime.opening(configuration, serving: true, logger: logger)
        } catch {
            throw CLIError(message: "cannot start: \(error)")
        }
        let server = Server(opening: opening, configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: opening.services + [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Opens the runtime once the database's services run, bootstraps it, and runs the application (the HTTP server
    /// and its workers) until the group shuts down.
    struct Server: Service {
        let opening: Runtime.Opening
        let configuration: ServerConfiguration
        let logger: Logger

        func run() async throws {
            let (opening, configuration, logger) = (self.opening, self.configuration, self.logger)
            let runtime: Runtime
            do {
                // A stop (SIGTERM) while the database is reached, migrated and bootstrapped ends the start-up.
                runtime = try await cancelWhenGracefulShutdown {
                    let runtime = try await opening.open()
                    try await runtime.bootstrap(configuration, logger: logger)
                    return runtime
                }
            } catch {
                if Task.isShuttingDownGracefully { return }
                throw CLIError(message: "cannot start: \(error)")
            }
            if Task.isShuttingDownGracefully {
                try? await runtime.storage.close()
                return
            }
            let application = buildApplication(runtime: runtime, configuration: configuration, logger: logger) { channel in
                logger.notice("kaito is listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }
            try await application.run()
        }
    }

    /// glibc gives the free memory at the top of a thread's heap back to the kernel as soon as 128 KB of it are free
    /// (`madvise`, which interrupts every core to flush its TLB): under load that was 7 % of the SQLite writer's time
    /// and a fifth of the audited writes' throughput. A server keeps up to 8 MB per heap instead (peak memory in the
    /// benchmark is unchanged), and allocations from 1 MB up are mapped on their own.
    static func keepFreedMemory() {
        #if canImport(Glibc)
        // mallopt(3) is declared in <malloc.h>, which Swift's Glibc module leaves out; its parameters are
        // M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3).
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        _ = mallopt(-1, 8 << 20)
        _ = mallopt(-3, 1 << 20)
        #endif
    }
}

enum LogSetup {
    /// Logs to standard error at `KAITO_LOG_LEVEL` (default info).
    static func makeLogger() -> Logger {
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label) }
        var logger = Logger(label: "kaito")
        logger.logLevel = ProcessInfo.processInfo.environment["KAITO_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}
