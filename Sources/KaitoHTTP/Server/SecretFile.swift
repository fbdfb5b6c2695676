import Foundation

/// Files that hold secrets (the master key, the bootstrap admin key): created with mode 0600, never overwritten.
enum SecretFile {
    /// Writes `contents` to a new file at `path` with mode 0600. Throws when the file already exists.
    static func create(_ path: String, contents: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ServerError.cannotWrite(path, errno: errno) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ServerError.cannotWrite(path, errno: errno) }
        fsync(descriptor)
    }

    static func read(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try String(contentsOfFile: path, encoding: .utf8)
    }
}

/// Start-up failures, with messages for operators.
public enum ServerError: Error, CustomStringConvertible {
    case cannotWrite(String, errno: Int32)
    case badMasterKey(String)
    case unsupportedDatabaseURL

    public var description: String {
        switch self {
        case .cannotWrite(let path, let code): return "cannot write \(path): \(String(cString: strerror(code)))"
        case .badMasterKey(let message): return "master key: \(message)"
        case .unsupportedDatabaseURL: return "the database URL must start with postgres:// or postgresql:// (omit it for SQLite)"
        }
    }
}
