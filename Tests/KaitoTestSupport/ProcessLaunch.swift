import Foundation

extension Process {
    private static let launchLock = NSLock()

    /// `run()`, one launch at a time in this test process. swift-corelibs-foundation's `Process.run()` is not safe
    /// to call from several threads at once (swiftlang/swift-corelibs-foundation#4772, #4795, #4810): a CI run
    /// crashed inside it (a bad read in `memmove`) while an end-to-end test and a pyotp helper launched together.
    public func launchSerially() throws {
        Self.launchLock.lock()
        defer { Self.launchLock.unlock() }
        try run()
    }
}
