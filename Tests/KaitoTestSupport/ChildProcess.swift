import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// A helper process of the tests (the `kaito` binary, pyotp, a webhook receiver, nginx, curl), started with
/// `posix_spawn` and reaped with `waitpid` on its own process id. Not Foundation's `Process`: that one crashed when
/// children started and exited at once on several threads (swiftlang/swift-corelibs-foundation#4772), which kept the
/// suite serial.
///
/// The child gets exactly standard input, output and error (every other descriptor of the test process is closed in
/// it), the default disposition of every signal and an empty signal mask. Its pipes are the caller's to drain:
/// `run` reads both output pipes together until they close, so a child that fills one while the test reads the
/// other never blocks.
public final class ChildProcess: Sendable {
    /// Where a child's standard input comes from.
    public enum Input: Sendable {
        case null
        /// A pipe whose write end is `standardInput`.
        case pipe
    }

    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        case null
        /// A pipe whose read end is `standardOutput` or `standardError`.
        case pipe
        /// A file, created or truncated.
        case file(String)
        /// A file, appended to.
        case appending(String)
    }

    /// How a child ended.
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        /// The exit status, or 128 + the signal (as a shell reports it).
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): 128 + signal
            }
        }
    }

    public struct SpawnFailure: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    /// The write end of the child's standard input (`.pipe`): the caller writes and closes it.
    public let standardInput: Int32?
    /// The read end of the child's standard output (`.pipe`): the caller reads and closes it.
    public let standardOutput: Int32?
    /// The read end of the child's standard error (`.pipe`).
    public let standardError: Int32?
    private let termination = NIOLockedValueBox<Termination?>(nil)

    /// Starts `executable` (a path) with `arguments`. `environment` nil: the test process's own.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        stdin: Input = .null, stdout: Output = .null, stderr: Output = .null
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { for descriptor in childEnds { close(descriptor) } }
        func pipePair() throws -> (read: Int32, write: Int32) {
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else { throw SpawnFailure(description: "pipe: \(String(cString: strerror(errno)))") }
            // Close-on-exec right away; a child spawned meanwhile by another thread does not keep them either,
            // since every child closes all but its three (`closeFrom`).
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            return (ends[0], ends[1])
        }
        do {
            var input: Int32?
            switch stdin {
            case .null:
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            case .pipe:
                let ends = try pipePair()
                input = ends.write
                parentEnds.append(ends.write)
                childEnds.append(ends.read)
                posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
            }
            func output(_ output: Output, to descriptor: Int32) throws -> Int32? {
                switch output {
                case .null:
                    posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
                    return nil
                case .file(let path):
                    posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                    return nil
                case .appending(let path):
                    posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                    return nil
                case .pipe:
                    let ends = try pipePair()
                    parentEnds.append(ends.read)
                    childEnds.append(ends.write)
                    posix_spawn_file_actions_adddup2(&actions, ends.write, descriptor)
                    return ends.read
                }
            }
            let outputEnd = try output(stdout, to: 1)
            let errorEnd = try output(stderr, to: 2)
            guard Self.closeFrom(&actions, 3) == 0 else { throw SpawnFailure(description: "posix_spawn_file_actions_addclosefrom_np failed") }

            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var noSignals = sigset_t()
            sigemptyset(&noSignals)
            var allSignals = sigset_t()
            sigfillset(&allSignals)
            posix_spawnattr_setsigmask(&attributes, &noSignals)
            posix_spawnattr_setsigdefault(&attributes, &allSignals)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

            let environment = environment ?? ProcessInfo.processInfo.environment
            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                for pointer in argv { free(pointer) }
                for pointer in envp { free(pointer) }
            }
            var pid: pid_t = 0
            let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            guard result == 0 else { throw SpawnFailure(description: "\(executable): \(String(cString: strerror(result)))") }
            self.pid = pid
            standardInput = input
            standardOutput = outputEnd
            standardError = errorEnd
        } catch {
            for descriptor in parentEnds { close(descriptor) }
            throw error
        }
    }

    /// A write to a child that has exited fails with EPIPE instead of killing the test process with SIGPIPE (whose
    /// default action ends it). Children get the default back (`POSIX_SPAWN_SETSIGDEF`).
    private static let ignoreBrokenPipes: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift does not import (a GNU
    /// extension): every descriptor from the given one up is closed in the child.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Whether the child has not ended yet (reaps it if it has).
    public var isRunning: Bool { poll() == nil }

    /// How the child ended, once it has (non-blocking).
    public func poll() -> Termination? {
        termination.withLockedValue { termination in
            if let termination { return termination }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == -1 && errno != EINTR {
                // Not our child any more (ECHILD): nothing will ever report it, so it counts as gone.
                termination = .exited(255)
                return termination
            }
            guard reaped == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
            let signal = status & 0x7f
            termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
            return termination
        }
    }

    /// Waits until the child ends, blocking this thread: for a child just signalled to end, or on a thread of its own.
    @discardableResult
    public func wait() -> Termination {
        while true {
            if let termination = poll() { return termination }
            usleep(2_000)
        }
    }

    /// Waits until the child ends without holding a thread, or until `timeout`; nil if it is still running then.
    public func exit(within timeout: Duration) async throws -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let termination = poll() { return termination }
            try await Task.sleep(for: .milliseconds(10))
        }
        return poll()
    }

    /// Sends `signal` (SIGTERM by default) unless the child has already been reaped (checked under the same lock
    /// as reaping, so the pid cannot have been reused by then).
    public func signal(_ signal: Int32 = SIGTERM) {
        termination.withLockedValue { termination in
            guard termination == nil else { return }
            kill(pid, signal)
        }
    }

    /// Writes `input` to standard input (then closes it) while reading standard output and error until both close,
    /// with `poll(2)`, so that neither side can block the other. Blocks this thread until then.
    public func communicate(input: Data? = nil) -> (output: Data, error: Data) {
        Self.ignoreBrokenPipes
        var output = Data()
        var error = Data()
        var pending = input ?? Data()
        var inputEnd = standardInput
        if let descriptor = inputEnd, pending.isEmpty {
            close(descriptor)
            inputEnd = nil
        } else if let descriptor = inputEnd {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        var open: [(descriptor: Int32, isError: Bool)] = []
        if let descriptor = standardOutput { open.append((descriptor, false)) }
        if let descriptor = standardError { open.append((descriptor, true)) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty || inputEnd != nil {
            var descriptors = open.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            if let descriptor = inputEnd { descriptors.append(pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)) }
            guard Glibc.poll(&descriptors, nfds_t(descriptors.count), -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            for entry in descriptors where entry.revents != 0 {
                if let descriptor = inputEnd, entry.fd == descriptor {
                    let written = pending.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    if written > 0 { pending.removeFirst(written) }
                    // EPIPE: the child exited without reading it all; what it wrote is still read below.
                    if written < 0 && errno != EAGAIN || pending.isEmpty {
                        close(descriptor)
                        inputEnd = nil
                    }
                    continue
                }
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    if open.first(where: { $0.descriptor == entry.fd })?.isError == true { error.append(contentsOf: buffer[0..<count]) } else { output.append(contentsOf: buffer[0..<count]) }
                } else if count == 0 || errno != EINTR && errno != EAGAIN {
                    close(entry.fd)
                    open.removeAll { $0.descriptor == entry.fd }
                }
            }
        }
        return (output, error)
    }

    /// Runs `executable` to its end with `input` on standard input, and returns its status, standard output and
    /// standard error. The pipes are drained and the child awaited on a thread of its own, never on one of the few
    /// threads of Swift's cooperative pool that the tests running beside it need.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil
    ) async throws -> (status: Int32, output: String, error: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, stdin: input == nil ? .null : .pipe, stdout: .pipe, stderr: .pipe)
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let (output, error) = child.communicate(input: input)
                let termination = child.wait()
                continuation.resume(returning: (termination.status, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self)))
            }
        }
    }
}
