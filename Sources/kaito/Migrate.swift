import ArgumentParser
import KaitoHTTP

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the database schema up to date and print its version.",
        discussion: """
            `kaito serve` migrates on start as well; on PostgreSQL every server takes the same advisory lock, so
            servers starting together apply each migration once. A database migrated by a newer kaito is refused.
            Example: kaito migrate --database-url postgres://kaito@db/kaito
            """
    )

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await withRuntime(options) { runtime in
            print("schema version \(try await runtime.storage.schemaVersion())")
        }
    }
}
