import AsyncHTTPClient
import Foundation
import KaitoTestSupport
import NIOCore
import NIOHTTP1

/// The `kaito` executable that `swift build` produced, started as an operator would start it.
struct ServerProcess {
    let process: Process
    let port: Int
    let directory: TemporaryDirectory
    let stderr: Pipe

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
    /// says where it listens.
    /// With `fileLimit`, the server runs under that many file descriptors (`RLIMIT_NOFILE`), as under a tight `ulimit -n`.
    static func start(
        databaseURL: String? = nil, environment extra: [String: String] = [:], directory existing: TemporaryDirectory? = nil, port: Int = 0,
        fileLimit: Int? = nil
    ) async throws -> ServerProcess {
        let directory = try existing ?? TemporaryDirectory()
        let process = Process()
        let arguments = ["serve", "--port", String(port), "--data-dir", directory.path] + (databaseURL.map { ["--database-url", $0] } ?? [])
        if let fileLimit {
            let launcher = "import os, resource, sys; n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
            process.executableURL = python
            process.arguments = ["-c", launcher, String(fileLimit), try executable.path] + arguments
        } else {
            process.executableURL = try executable
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAITO_") }
        environment.merge(extra) { $1 }
        process.environment = environment
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.launchSerially()

        var log = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = stderr.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
            if let line = log.split(separator: "\n").first(where: { $0.contains("kaito is listening") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0.prefix { $0.isNumber }) }) {
                // From here on the log goes to <data-dir>/server.log: a pipe nobody reads fills up (64 KiB of request
                // logs) and then blocks the server in write(2).
                let path = directory.path + "/server.log"
                FileManager.default.createFile(atPath: path, contents: Data(log.utf8))
                let file = FileHandle(forWritingAtPath: path)
                file?.seekToEndOfFile()
                stderr.fileHandleForReading.readabilityHandler = { handle in
                    let data = handle.availableData
                    if data.isEmpty { handle.readabilityHandler = nil } else { file?.write(data) }
                }
                return ServerProcess(process: process, port: port, directory: directory, stderr: stderr)
            }
        }
        process.terminate()
        throw Failure("the server did not start: \(log)")
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Kills the server with SIGKILL, as a crash or an OOM killer would, and waits until it is gone.
    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and returns the exit status once the server has shut down.
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command (with `input` on its standard input) and returns its exit status and standard output.
func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAITO_") }.merging(environment) { $1 }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.launchSerially()
    if let input {
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// The Python that has the independent implementations (`KAITO_TEST_PYTHON`, set by scripts/test).
var python: URL { TestEnvironment.python }

/// One request with a bearer key to a server on a real socket; returns the status and the body.
func request(_ http: HTTPClient, _ method: HTTPMethod, _ url: String, key: String, body: String? = nil) async throws -> (status: UInt, body: Data) {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers.add(name: "Authorization", value: "Bearer \(key)")
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await http.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    return (response.status.code, Data(bytes.readableBytesView))
}
