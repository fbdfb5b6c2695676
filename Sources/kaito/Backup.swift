import ArgumentParser
import Foundation
import KaitoCore
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
                Example: kaito admin backup --to /backups/kaito-$(date +%F).tar
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
            abstract: "Restore a backup into an empty data directory (--data-dir); then start kaito serve on it.", discussion: "Example: kaito admin restore --from /backups/kaito-2026-11-30.tar --data-dir /var/lib/kaito")

        @Option(help: "The archive written by kaito admin backup.")
        var from: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            guard let archive = FileManager.default.contents(atPath: from) else {
                throw CLIError(message: "cannot read \(from)", exitCode: 1)
            }
            let configuration = try options.configuration()
            let manifest = try await Backup.restore(Array(archive), into: configuration, logger: LogSetup.quietLogger())
            print("restored \(manifest.createdAt) backup into \(configuration.dataDirectory)")
            if !manifest.includesMasterKey && configuration.masterKeyBase64 == nil {
                print("start the server with KAITO_MASTER_KEY set to master key \(manifest.masterKeyID)")
            }
        }
    }
}

extension Admin {
    struct RotateMasterKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-master-key",
            abstract: "Re-wrap every organisation's data key under a new master key, in one transaction, while servers keep serving.",
            discussion: """
                The current key comes from KAITO_MASTER_KEY or <data-dir>/master.key as for serve; the new one from
                --new-key-file (base64 of 32 random bytes: head -c 32 /dev/urandom | base64 > new.key). When the
                current key is <data-dir>/master.key, that file is replaced by the new key. Afterwards restart the
                servers with the new key: one still holding the old key serves the organisations whose data keys it
                has loaded, and refuses to start again. Then destroy every copy of the old key.
                Example: kaito admin rotate-master-key --new-key-file /run/secrets/new-master.key
                """)

        @Option(name: .customLong("new-key-file"), help: "A file with the new master key in base64.")
        var newKeyFile: String

        @OptionGroup var options: ServerOptions

        func run() async throws {
            let configuration = try options.configuration()
            guard let text = FileManager.default.contents(atPath: newKeyFile).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw CLIError(message: "cannot read \(newKeyFile)", exitCode: 2)
            }
            let new: MasterKey
            do { new = try MasterKey(base64: text) } catch { throw CLIError(message: "\(newKeyFile): \(error)", exitCode: 2) }
            try await withRuntime(options) { runtime in
                let old = runtime.keyring.master
                let count = try await Keyring.rotateMasterKey(from: old, to: new, storage: runtime.storage)
                if configuration.masterKeyBase64 == nil {
                    // Replace <data-dir>/master.key atomically: a crash leaves the old or the new file, never half.
                    let temporary = configuration.masterKeyPath + ".new"
                    try? FileManager.default.removeItem(atPath: temporary)
                    guard FileManager.default.createFile(atPath: temporary, contents: Data((text.trimmingCharacters(in: .whitespacesAndNewlines) + "\n").utf8),
                                                         attributes: [.posixPermissions: 0o600]),
                          rename(temporary, configuration.masterKeyPath) == 0
                    else { throw CLIError(message: "rotated, but could not replace \(configuration.masterKeyPath): put the new key there", exitCode: 1) }
                }
                print("re-wrapped \(count) data keys: master key \(old.id) -> \(new.id)")
            }
        }
    }

    struct RotateDataKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-data-key",
            abstract: "Give an organisation a new data key and re-encrypt its seeds and secrets with it, while servers keep serving.",
            discussion: """
                One transaction makes a new version of the data key current (servers seal with it from then on); the
                seeds, webhook secrets and provider credentials sealed by earlier versions are then re-encrypted in
                batches, each its own transaction, and the earlier versions are deleted. Nothing is decrypted outside
                this process's memory. Interrupted, it leaves every value readable: run it again.
                Example: kaito admin rotate-data-key acme
                """)

        @Argument(help: "The organisation's name or id.")
        var org: String

        @Option(name: .customLong("batch-size"), help: "Values re-encrypted per transaction.")
        var batchSize: Int = 100

        @OptionGroup var options: ServerOptions

        func run() async throws {
            guard (1...10_000).contains(batchSize) else { throw CLIError(message: "--batch-size must be between 1 and 10000", exitCode: 2) }
            try await withRuntime(options) { runtime in
                let result = try await runtime.organizations.rotateDataKey(org, batchSize: batchSize)
                print("\(org): data key version \(result.version); re-encrypted \(result.reencrypted) values; deleted \(result.retiredVersionsDeleted) earlier versions")
            }
        }
    }
}
