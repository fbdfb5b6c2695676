import ArgumentParser
import Foundation
import KaitoHTTP

extension Admin {
    struct BackupCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Write a consistent backup of the SQLite database (taken while servers keep writing) to a tar file.",
            discussion: """
                The archive holds manifest.json and kaito.sqlite (a VACUUM INTO snapshot), and master.key only with
                --include-master-key: without it the backup is ciphertext until the restored server gets the same
                KAITO_MASTER_KEY. For PostgreSQL use pg_dump (docs/operations.md).
                """)

        @Option(help: "The archive to write (mode 0600; it must not exist).")
        var to: String

        @Flag(name: .customLong("include-master-key"), help: "Put the master key in the archive too (then guard it like the key).")
        var includeMasterKey = false

        @OptionGroup var options: ServerOptions

        func run() async throws {
            let (archive, manifest) = try await Backup.create(try options.configuration(), includeMasterKey: includeMasterKey, logger: LogSetup.quietLogger())
            let descriptor = open(to, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else { throw CLIError(message: "cannot create \(to): \(String(cString: strerror(errno)))", exitCode: 1) }
            defer { close(descriptor) }
            let written = archive.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == archive.count, fsync(descriptor) == 0 else { throw CLIError(message: "cannot write \(to)", exitCode: 1) }
            print("\(to): \(archive.count) bytes, master key \(manifest.masterKeyID)\(includeMasterKey ? " (included)" : " (not included)")")
        }
    }

    struct RestoreCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore a backup into an empty data directory (--data-dir); then start kaito serve on it.")

        @Option(help: "The archive written by kaito admin backup.")
        var from: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            guard let archive = FileManager.default.contents(atPath: from) else {
                throw CLIError(message: "cannot read \(from)", exitCode: 1)
            }
            let configuration = try options.configuration()
            let manifest = try Backup.restore(Array(archive), into: configuration)
            print("restored \(manifest.createdAt) backup into \(configuration.dataDirectory)")
            if !manifest.includesMasterKey && configuration.masterKeyBase64 == nil {
                print("start the server with KAITO_MASTER_KEY set to master key \(manifest.masterKeyID)")
            }
        }
    }
}
