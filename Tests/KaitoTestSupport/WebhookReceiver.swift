import Foundation
import KaitoCore

/// The repository's root and the Python that has the independent implementations (`KAITO_TEST_PYTHON`, set by
/// scripts/test): what the tests that start helper processes need.
public enum TestEnvironment {
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var python: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["KAITO_TEST_PYTHON"] ?? "/usr/bin/python3")
    }
}

/// A helper script of scripts/ on a loopback port that writes `{"listening": port}` and then one JSON line per
/// request to a log file, which the test polls (never a blocking read of a pipe on the concurrency pool).
public struct HelperProcess: @unchecked Sendable {
    public let port: Int
    let process: ChildProcess
    let directory: TemporaryDirectory
    var logPath: String { directory.path + "/requests.jsonl" }

    public static func start(script name: String, arguments: [String]) async throws -> HelperProcess {
        let directory = try TemporaryDirectory()
        let script = TestEnvironment.packageRoot.appendingPathComponent("scripts/" + name)
        let process = try ChildProcess(TestEnvironment.python.path, [script.path, "--log", directory.path + "/requests.jsonl"] + arguments,
                                       stderr: .file(directory.path + "/stderr"))
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let first = (try? String(contentsOfFile: directory.path + "/requests.jsonl", encoding: .utf8))?.split(separator: "\n").first,
               let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any],
               let port = object["listening"] as? Int {
                return HelperProcess(port: port, process: process, directory: directory)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.signal(SIGKILL)
        process.wait()
        let stderr = (try? String(contentsOfFile: directory.path + "/stderr", encoding: .utf8)) ?? ""
        directory.remove()
        throw ReceiverFailure(description: "scripts/\(name) did not start (\(TestEnvironment.python.path)): \(stderr)")
    }

    /// Every request logged so far, in order, as JSON lines.
    public func lines() -> [Data] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().map { Data($0.utf8) }
    }

    /// Waits until at least `count` requests have been logged and returns them all.
    @discardableResult
    public func waitForLines(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Data] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let received = lines()
            if received.count >= count { return received }
            guard ContinuousClock.now < deadline else {
                throw ReceiverFailure(description: "expected \(count) requests, received \(received.count)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Kills the helper (SIGKILL: nothing of it needs a graceful end).
    public func stop() {
        process.signal(SIGKILL)
        process.wait()
        directory.remove()
    }
}

/// scripts/webhook_receiver.py: a real HTTP receiver that checks every delivery with the `standardwebhooks` package.
public struct WebhookReceiver: Sendable {
    let helper: HelperProcess
    public var port: Int { helper.port }

    /// One delivery as the receiver saw it: `signed[i]` and `verified[i]` are about the i-th secret it was given.
    public struct Delivery: Decodable, Sendable {
        public let id: String
        public let timestamp: Int
        public let status: Int
        public let signed: [Bool]
        public let verified: [Bool]
        public let signatures: Int
        public let type: String
        /// The payload's `data`, as JSON text.
        public let data: String
        public let userAgent: String?

        enum CodingKeys: String, CodingKey {
            case id, timestamp, status, signed, verified, signatures, type, data
            case userAgent = "user_agent"
        }

        /// The payload's `data` as an object.
        public func object() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] ?? [:]
        }
    }

    /// Starts the receiver; it answers the n-th delivery with `statuses[n]` (the last one repeats).
    public static func start(secrets: [String], statuses: [Int] = [200], retryAfter: String = "120") async throws -> WebhookReceiver {
        let arguments = ["--retry-after=" + retryAfter, "--statuses", statuses.map(String.init).joined(separator: ",")] + secrets.flatMap { ["--secret", $0] }
        return WebhookReceiver(helper: try await HelperProcess.start(script: "webhook_receiver.py", arguments: arguments))
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Every delivery received so far, in order.
    public func deliveries() throws -> [Delivery] {
        try helper.lines().map { try JSONDecoder().decode(Delivery.self, from: $0) }
    }

    /// Waits until at least `count` deliveries have arrived and returns them all.
    @discardableResult
    public func waitForDeliveries(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Delivery] {
        try await helper.waitForLines(count, timeout: timeout).map { try JSONDecoder().decode(Delivery.self, from: $0) }
    }

    public func stop() { helper.stop() }
}

/// scripts/fake_twilio.py: Twilio's Messages API on loopback, speaking its wire format.
public struct FakeTwilio: Sendable {
    let helper: HelperProcess
    public var baseURL: String { "http://127.0.0.1:\(helper.port)" }

    public static func start(accountSID: String, authToken: String) async throws -> FakeTwilio {
        FakeTwilio(helper: try await HelperProcess.start(script: "fake_twilio.py", arguments: ["--account-sid", accountSID, "--auth-token", authToken]))
    }

    /// The requests it received: path, form, whether the basic auth was right, the status it answered and the sid.
    public func requests() throws -> [[String: Any]] {
        try helper.lines().map { try JSONSerialization.jsonObject(with: $0) as? [String: Any] ?? [:] }
    }

    public func stop() { helper.stop() }
}

public struct ReceiverFailure: Error, CustomStringConvertible {
    public let description: String
}

extension TestEnvironment {
    /// Runs `script` with the test Python (which has the independent implementations) and returns its standard
    /// output, trimmed.
    public static func runPython(_ script: String, _ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run(python.path, ["-c", script] + arguments)
        guard result.status == 0 else {
            throw ReceiverFailure(description: "python failed (run scripts/test, which installs the test packages): \(result.error)")
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `X-Twilio-Signature` for `url` and `parameters`, computed by the `twilio` package's `RequestValidator`.
    public static func twilioSignature(url: String, parameters: [(String, String)], authToken: String) async throws -> String {
        let object = Dictionary(parameters, uniquingKeysWith: { first, _ in first })
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        return try await runPython("""
            import json, sys
            from twilio.request_validator import RequestValidator
            print(RequestValidator(sys.argv[1]).compute_signature(sys.argv[2], json.loads(sys.argv[3])))
            """, [authToken, url, json])
    }

    /// `parameters` as an `application/x-www-form-urlencoded` body.
    public static func formBody(_ parameters: [(String, String)]) -> String { FormEncoding.encode(parameters) }
}
