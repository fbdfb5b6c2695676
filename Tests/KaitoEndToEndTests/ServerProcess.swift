import AsyncHTTPClient
import Foundation
import KaitoTestSupport
import NIOCore
import NIOHTTP1

/// The `kaito` executable that `swift build` produced, started as an operator would start it.
struct ServerProcess {
    let process: ChildProcess
    let port: Int
    let directory: TemporaryDirectory

    static var packageRoot: URL { TestEnvironment.packageRoot }

    /// The built `kaito` binary (debug build, beside the test bundle).
    static var executable: URL {
        get throws {
            let candidates = [".build/debug/kaito", ".build/x86_64-unknown-linux-gnu/debug/kaito", ".build/aarch64-unknown-linux-gnu/debug/kaito"]
            for candidate in candidates {
                let url = packageRoot.appendingPathComponent(candidate)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
            throw Failure("the kaito executable is not built; run `swift build` first")
        }
    }

    /// Starts `kaito serve --port 0` on a fresh data directory (and `databaseURL`, when given) and waits until it
    /// says where it listens. Its log (standard error) goes to `<data-dir>/server.log`, appended to across restarts.
    /// With `fileLimit`, the server runs under that many file descriptors (`RLIMIT_NOFILE`), as under a tight `ulimit -n`.
    static func start(
        databaseURL: String? = nil, environment extra: [String: String] = [:], directory existing: TemporaryDirectory? = nil, port: Int = 0,
        fileLimit: Int? = nil
    ) async throws -> ServerProcess {
        let directory = try existing ?? TemporaryDirectory()
        let arguments = ["serve", "--port", String(port), "--data-dir", directory.path] + (databaseURL.map { ["--database-url", $0] } ?? [])
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAITO_") }
        environment.merge(extra) { $1 }
        let log = directory.path + "/server.log"
        let skip = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let process: ChildProcess
        if let fileLimit {
            let launcher = "import os, resource, sys; n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
            process = try ChildProcess(python.path, ["-c", launcher, String(fileLimit), try executable.path] + arguments,
                                       environment: environment, stderr: .appending(log))
        } else {
            process = try ChildProcess(try executable.path, arguments, environment: environment, stderr: .appending(log))
        }

        // The log is a file, not a pipe: a pipe nobody reads fills up (64 KiB of request logs) and then blocks the
        // server in write(2).
        let deadline = ContinuousClock.now + .seconds(30)
        var text = ""
        while ContinuousClock.now < deadline {
            text = String(decoding: ((try? Data(contentsOf: URL(fileURLWithPath: log))) ?? Data()).dropFirst(skip), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.contains("kaito is listening") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0.prefix { $0.isNumber }) }) {
                return ServerProcess(process: process, port: port, directory: directory)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.signal(SIGKILL)
        process.wait()
        throw Failure("the server did not start: \(text)")
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Kills the server with SIGKILL, as a crash or an OOM killer would, and waits until it is gone.
    func kill() {
        process.signal(SIGKILL)
        process.wait()
    }

    /// Sends SIGTERM and returns the exit status once the server has shut down.
    func stop() -> Int32 {
        process.signal(SIGTERM)
        return process.wait().status
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command (with `input` on its standard input) and returns its exit status, standard output and error.
func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil) async throws -> (status: Int32, output: String, error: String) {
    try await ChildProcess.run(executable.path, arguments,
                         environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAITO_") }.merging(environment) { $1 },
                         input: input)
}

/// The Python that has the independent implementations (`KAITO_TEST_PYTHON`, set by scripts/test).
var python: URL { TestEnvironment.python }

/// One request with a bearer key to a server on a real socket; returns the status and the body.
func request(
    _ http: HTTPClient, _ method: HTTPMethod, _ url: String, key: String, body: String? = nil, headers: [(String, String)] = []
) async throws -> (status: UInt, body: Data) {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Authorization", value: "Bearer \(key)")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await http.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    return (response.status.code, Data(bytes.readableBytesView))
}
