import Crypto
import Foundation
import KaitoCore
import KaitoStorage
import Logging

/// Backups of a SQLite deployment: a consistent snapshot of the database (`VACUUM INTO`, taken while servers write),
/// a manifest, and — only when asked — the master key. Without the master key a backup is ciphertext: seeds, webhook
/// secrets and provider tokens stay sealed until the restored server is given the same `KAITO_MASTER_KEY`.
/// PostgreSQL deployments use `pg_dump` (docs/operations.md).
public enum Backup {
    /// `manifest.json` in the archive.
    public struct Manifest: Codable, Equatable, Sendable {
        public var format: String
        public var createdAt: String
        /// The id (a public fingerprint) of the master key the data keys are wrapped with.
        public var masterKeyID: String
        public var includesMasterKey: Bool
        /// SHA-256 of `kaito.sqlite` in the archive, checked on restore.
        public var databaseSHA256: String

        enum CodingKeys: String, CodingKey {
            case format
            case createdAt = "created_at"
            case masterKeyID = "master_key_id"
            case includesMasterKey = "includes_master_key"
            case databaseSHA256 = "database_sha256"
        }
    }

    public static let format = "kaito-backup/1"

    public enum Error: Swift.Error, CustomStringConvertible {
        case postgres
        case noMasterKey
        case notEmpty(String)
        case invalid(String)
        case wrongMasterKey(expected: String, given: String)

        public var description: String {
            switch self {
            case .postgres: return "backups of PostgreSQL deployments are pg_dump's job (docs/operations.md)"
            case .noMasterKey: return "no master key: set KAITO_MASTER_KEY or point --data-dir at the directory with master.key"
            case .notEmpty(let path): return "\(path) already holds a database: restore into an empty data directory"
            case .invalid(let why): return "not a usable Kaito backup: \(why)"
            case .wrongMasterKey(let expected, let given):
                return "the backup's data keys are wrapped by master key \(expected); KAITO_MASTER_KEY is \(given)"
            }
        }
    }

    /// The archive of the configured SQLite database.
    public static func create(_ configuration: ServerConfiguration, includeMasterKey: Bool, logger: Logger) async throws -> (archive: [UInt8], manifest: Manifest) {
        guard configuration.databaseURL == nil else { throw Error.postgres }
        guard let (master, base64) = try Runtime.existingMasterKey(configuration) else { throw Error.noMasterKey }
        let database = try await SQLiteStorage.snapshot(databasePath: configuration.databasePath, logger: logger)
        let manifest = Manifest(
            format: format, createdAt: Timestamp.format(Date()), masterKeyID: master.id, includesMasterKey: includeMasterKey,
            databaseSHA256: JSONText.hexString(SHA256.hash(data: database)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var entries = [
            TarArchive.Entry(name: "manifest.json", mode: 0o600, contents: Array(try encoder.encode(manifest)) + [0x0A]),
            TarArchive.Entry(name: "kaito.sqlite", mode: 0o600, contents: database),
        ]
        if includeMasterKey { entries.append(TarArchive.Entry(name: "master.key", mode: 0o600, contents: Array((base64 + "\n").utf8))) }
        return (try TarArchive.write(entries), manifest)
    }

    /// Restores `archive` into the configured (empty) data directory. With a master key in the archive it is
    /// written to `master.key`; otherwise the server will need `KAITO_MASTER_KEY`, which, when set, must match.
    @discardableResult
    public static func restore(_ archive: [UInt8], into configuration: ServerConfiguration, logger: Logger = Logger(label: "kaito")) async throws -> Manifest {
        guard configuration.databaseURL == nil else { throw Error.postgres }
        let entries = try TarArchive.read(archive)
        func member(_ name: String) throws -> [UInt8] {
            guard let entry = entries.first(where: { $0.name == name }) else { throw Error.invalid("it has no \(name)") }
            return entry.contents
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(try member("manifest.json")))
        } catch let error as Error {
            throw error
        } catch {
            throw Error.invalid("its manifest.json is not readable")
        }
        guard manifest.format == format else { throw Error.invalid("format \(manifest.format), expected \(format)") }
        let database = try member("kaito.sqlite")
        // A manifest's checksum proves only that the two files belong together: the database must be one.
        guard database.starts(with: Array("SQLite format 3\u{0}".utf8)), database.count >= 512 else {
            throw Error.invalid("kaito.sqlite is not an SQLite database")
        }
        guard JSONText.hexString(SHA256.hash(data: database)) == manifest.databaseSHA256 else {
            throw Error.invalid("kaito.sqlite does not match the checksum in its manifest")
        }
        var masterKeyText: String?
        if manifest.includesMasterKey {
            let text = String(decoding: try member("master.key"), as: UTF8.self)
            guard (try? MasterKey(base64: text))?.id == manifest.masterKeyID else { throw Error.invalid("its master.key is not the key its manifest names") }
            masterKeyText = text
        } else if let given = configuration.masterKeyBase64 {
            let id = (try? MasterKey(base64: given))?.id ?? "not a valid key"
            guard id == manifest.masterKeyID else { throw Error.wrongMasterKey(expected: manifest.masterKeyID, given: id) }
        }
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for path in [configuration.databasePath, configuration.databasePath + "-wal", configuration.masterKeyPath] where fileManager.fileExists(atPath: path) {
            if path == configuration.masterKeyPath && masterKeyText == nil { continue }
            throw Error.notEmpty(configuration.dataDirectory)
        }
        // Written under a temporary name and renamed, so that a crash never leaves half a database to start on.
        let temporary = configuration.databasePath + ".restoring"
        try? fileManager.removeItem(atPath: temporary)
        guard fileManager.createFile(atPath: temporary, contents: Data(database), attributes: [.posixPermissions: 0o600]) else {
            throw ServerError.cannotWrite(temporary, errno: errno)
        }
        // A sound SQLite file whose server secrets are wrapped by the manifest's master key: a Kaito database of that
        // key (a truncated or foreign file would start as a crash, or as an empty install).
        let inspected: (integrity: String, masterKeyID: String?)
        do {
            inspected = try await SQLiteStorage.inspect(path: temporary, logger: logger)
        } catch {
            try? fileManager.removeItem(atPath: temporary)
            throw Error.invalid("kaito.sqlite cannot be opened as a database")
        }
        guard inspected.integrity == "ok", inspected.masterKeyID == manifest.masterKeyID else {
            try? fileManager.removeItem(atPath: temporary)
            throw Error.invalid(inspected.integrity != "ok"
                ? "kaito.sqlite fails SQLite's integrity check"
                : "kaito.sqlite is not a Kaito database of master key \(manifest.masterKeyID)")
        }
        if let masterKeyText { try SecretFile.create(configuration.masterKeyPath, contents: masterKeyText) }
        try fileManager.moveItem(atPath: temporary, toPath: configuration.databasePath)
        return manifest
    }
}
