import Foundation

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        let path = NSTemporaryDirectory() + "kaito-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The bytes of every file in the directory (the database, its WAL and shared-memory files).
    public func allFileBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            bytes += Array(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
        }
        return bytes
    }
}
