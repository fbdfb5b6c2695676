import Foundation
import KaitoCore
import NIOConcurrencyHelpers

/// How an operator command tells the server of a SQLite database that it changed what the server caches: it appends
/// a byte to a file next to the database after its commit, and the server compares the file's size, modification
/// time and inode with what it saw last (one `stat`, no read of the database) before it answers from memory.
/// The file is cut back to nothing when it grows past 4 KiB, which is a change too.
struct ChangeSignal: Sendable {
    let path: String
    private let seen = NIOLockedValueBox<Stamp?>(nil)

    private struct Stamp: Equatable {
        var size: Int64
        var modified: timespec
        var inode: UInt64
        var exists: Bool

        static func == (a: Stamp, b: Stamp) -> Bool {
            a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.inode == b.inode && a.exists == b.exists
        }
    }

    init(path: String) {
        self.path = path
        seen.withLockedValue { $0 = stamp() }
    }

    /// Records a change (operator side), after the transaction that made it committed. Returns false when the file
    /// cannot be written (the server then does not hear of the change until it restarts).
    @discardableResult
    func raise() -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_size >= 4096 { _ = ftruncate(descriptor, 0) }
        var byte: UInt8 = 0x2E
        return write(descriptor, &byte, 1) == 1
    }

    /// Calls `changed` if the file changed since it was last seen (server side), and only then records it as seen:
    /// a request that checks meanwhile sees the change too, never a cache that `changed` has not emptied yet.
    func check(ifChanged changed: () -> Void) {
        let now = stamp()
        guard seen.withLockedValue({ $0 != now }) else { return }
        changed()
        seen.withLockedValue { $0 = now }
    }

    private func stamp() -> Stamp {
        var info = stat()
        guard stat(path, &info) == 0 else { return Stamp(size: 0, modified: timespec(), inode: 0, exists: false) }
        return Stamp(size: Int64(info.st_size), modified: info.st_mtim, inode: UInt64(info.st_ino), exists: true)
    }
}
