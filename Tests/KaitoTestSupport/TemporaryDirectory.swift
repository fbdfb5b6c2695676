import Foundation

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    /// A directory that exists already (removed by `remove()` like the others).
    public init(existing path: String) {
        self.path = path
    }

    public init() throws {
        let path = NSTemporaryDirectory() + "kaito-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The bytes of every file whose name starts with `prefix` (by default the database with its WAL and
    /// shared-memory files).
    public func fileBytes(prefix: String = "kaito.sqlite") throws -> [UInt8] {
        var bytes: [UInt8] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix(prefix) {
            bytes += Array(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
        }
        return bytes
    }
}

extension Array where Element == UInt8 {
    /// Whether these bytes contain `subsequence` anywhere (a search of database files for a secret).
    public func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        let first = subsequence[0]
        var index = 0
        while index <= count - subsequence.count {
            if self[index] == first && Array(self[index..<(index + subsequence.count)]) == subsequence { return true }
            index += 1
        }
        return false
    }
}
