import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// A database that does not answer: every wait is bounded, requests fail with 503 and `Retry-After` instead of
/// hanging (or spinning), `/ready` says so within a second, and service resumes by itself when it returns.
@Suite("End to end: a locked or stopped database", .serialized)
struct DatabaseOutageTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    struct Timed {
        var status: UInt
        var retryAfter: String?
        var seconds: Double
    }

    static func timed(_ http: HTTPClient, _ url: String, key: String? = nil) async -> Timed {
        let start = ContinuousClock.now
        var request = HTTPClientRequest(url: url)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        do {
            let response = try await http.execute(request, timeout: .seconds(20))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Timed(status: response.status.code, retryAfter: response.headers.first(name: "Retry-After"), seconds: (ContinuousClock.now - start).seconds)
        } catch {
            return Timed(status: 0, retryAfter: nil, seconds: (ContinuousClock.now - start).seconds)
        }
    }

    /// A token and a key that reads its code, through the bootstrap key.
    static func setUp(_ http: HTTPClient, _ server: ServerProcess) async throws -> String {
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let writer = try JSONDecoder().decode(KeyResponse.self, from: try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "w", "scopes": ["tokens:write", "tokens:code"]}"#).body)
        let key = try #require(writer.key)
        #expect(try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "s", "secret": "\#(secret)"}"#).status == 201)
        return key
    }

    /// The process's CPU time so far (user + system), from /proc.
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
        return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("A server whose PostgreSQL cannot be reached while it starts stops at once on SIGTERM, without starting to listen")
    func stopWhileStarting() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let log = directory.path + "/server.log"
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAITO_") }
        // Port 9 (discard) refuses the connection: the pool keeps retrying until its own deadline, far beyond this test.
        let process = try ChildProcess(
            try ServerProcess.executable.path,
            ["serve", "--port", "0", "--data-dir", directory.path, "--database-url", "postgres://kaito@127.0.0.1:9/kaito?sslmode=disable"],
            environment: environment, stderr: .appending(log))
        try await Task.sleep(for: .seconds(1))
        #expect(process.isRunning, "still trying to reach the database")
        process.signal(SIGTERM)
        let ended = try await process.exit(within: .seconds(10))
        if ended == nil {
            process.signal(SIGKILL)
            process.wait()
        }
        #expect(ended == .exited(0), "a stop asked for while starting is a clean stop: \(String(describing: ended))")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!text.contains("kaito is listening"), "\(text)")
    }

    @Test("SQLite locked by another process: 503 with Retry-After within the timeout, no busy loop, then 200 again")
    func sqliteLocked() async throws {
        let server = try await ServerProcess.start(environment: ["KAITO_DATABASE_TIMEOUT": "1"])
        defer { server.directory.remove() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let key = try await Self.setUp(http, server)
        #expect(await Self.timed(http, server.url + "/v1/tokens/s/code", key: key).status == 200)

        // Another process takes the write lock and holds it for 15 s.
        let hold = """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
            db.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            time.sleep(15)
            db.execute("ROLLBACK")
            """
        let locked = server.directory.path + "/locker.out"
        let locker = try ChildProcess(python.path, ["-c", hold, server.directory.path + "/kaito.sqlite"], stdout: .file(locked))
        let lockDeadline = ContinuousClock.now + .seconds(10)
        while !((try? String(contentsOfFile: locked, encoding: .utf8)) ?? "").contains("locked"), ContinuousClock.now < lockDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(((try? String(contentsOfFile: locked, encoding: .utf8)) ?? "").contains("locked"))

        let cpuBefore = try Self.cpuSeconds(server.process.pid)
        var answers: [Timed] = []
        for _ in 0..<3 { answers.append(await Self.timed(http, server.url + "/v1/tokens/s/code", key: key)) }
        let cpu = try Self.cpuSeconds(server.process.pid) - cpuBefore
        for answer in answers {
            #expect(answer.status == 503, "\(answer)")
            #expect(answer.retryAfter.flatMap(Int.init).map { $0 > 0 } == true, "\(answer)")
            // A code fetch has a few statements that each wait for the lock at most the timeout (1 s here).
            #expect(answer.seconds < 4.5, "\(answer)")
        }
        // Waiting on the lock sleeps; it does not spin (the old driver's handler retried at once, at 100 % CPU).
        #expect(cpu < Double(answers.count) * 0.5, "the server used \(cpu) s of CPU while the database was locked")

        _ = try await locker.exit(within: .seconds(30))
        #expect(await Self.timed(http, server.url + "/v1/tokens/s/code", key: key).status == 200)
        #expect(try await run(try ServerProcess.executable, ["audit", "verify", "--data-dir", server.directory.path]).status == 0)
        #expect(server.stop() == 0)
    }

    /// A PostgreSQL cluster of the test's own, which it may stop and start (the suite's shared one must stay up).
    struct Cluster {
        let data: String
        let port: Int
        var url: String { "postgres://kaito@127.0.0.1:\(port)/postgres?sslmode=disable" }

        /// Runs a bash script with `posix_spawn` and `waitpid`, no pipes attached, its output in `<data>.log`.
        /// (Foundation's `Process` was seen never to notice this script's exit once `runuser` had run in it.)
        func shell(_ script: String) throws -> Int32 {
            let full = """
                cd '\(TestEnvironment.packageRoot.path)'
                source scripts/postgres.sh
                bin=$(kaito_pg_bin)
                as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
                \(script)
                """
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, data + ".log", O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let arguments = ["/bin/bash", "-c", full]
            var argv = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var pid: pid_t = 0
            let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &argv, environ)
            guard spawned == 0 else { throw Failure("posix_spawn failed: \(spawned)") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            return (status >> 8) & 0xFF
        }

        static func start(port: Int) throws -> Cluster {
            let cluster = Cluster(data: NSTemporaryDirectory() + "kaito-outage-pg-\(UUID().uuidString)", port: port)
            let status = try cluster.shell("""
                set -e
                mkdir -p '\(cluster.data)'
                [ "$(id -u)" = 0 ] && chown postgres: '\(cluster.data)'
                "${as[@]}" "$bin/initdb" -D '\(cluster.data)' -U kaito -A trust --no-sync -E UTF8 >/dev/null
                """)
            guard status == 0 else { throw Failure("initdb failed: \((try? String(contentsOfFile: cluster.data + ".log", encoding: .utf8)) ?? "")") }
            try cluster.restart()
            return cluster
        }

        func pgctl(_ arguments: String) throws {
            guard try shell(#""${as[@]}" "$bin/pg_ctl" -D '\#(data)' -w -s \#(arguments)"#) == 0 else {
                throw Failure("pg_ctl \(arguments) failed: \((try? String(contentsOfFile: data + ".log", encoding: .utf8)) ?? "")")
            }
        }

        func stop() throws { try pgctl("-m immediate stop") }

        func restart() throws {
            try pgctl(#"-l '\#(data)/server.log' -o "-c listen_addresses=127.0.0.1 -p \#(port) -c unix_socket_directories=\#(data) -c fsync=off" start"#)
        }

        func remove() {
            try? stop()
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: data + ".log")
        }
    }

    @Test(
        "PostgreSQL stopped under load: 503 with Retry-After within the timeout, /ready 503 within a second, recovery on restart",
        .enabled(if: TestDatabase.postgresAdminURL != nil, "needs PostgreSQL (scripts/test's second pass)"))
    func postgresStopped() async throws {
        let cluster = try Cluster.start(port: 55433)
        defer { cluster.remove() }
        let server = try await ServerProcess.start(databaseURL: cluster.url, environment: ["KAITO_DATABASE_TIMEOUT": "2"])
        defer { server.directory.remove() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let key = try await Self.setUp(http, server)
        #expect(await Self.timed(http, server.url + "/v1/tokens/s/code", key: key).status == 200)

        try cluster.stop()
        let answers = await withTaskGroup(of: Timed.self) { group in
            for _ in 0..<6 { group.addTask { await Self.timed(http, server.url + "/v1/tokens/s/code", key: key) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for answer in answers {
            #expect(answer.status == 503, "\(answer)")
            #expect(answer.retryAfter != nil, "\(answer)")
            #expect(answer.seconds < 4, "\(answer)")
        }
        let ready = await Self.timed(http, server.url + "/ready")
        #expect(ready.status == 503 && ready.seconds < 1.5, "\(ready)")
        #expect(await Self.timed(http, server.url + "/health").status == 200)

        try cluster.restart()
        var recovered = false
        for _ in 0..<40 where !recovered {
            recovered = await Self.timed(http, server.url + "/ready").status == 200
            if !recovered { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(recovered)
        for _ in 0..<5 { #expect(await Self.timed(http, server.url + "/v1/tokens/s/code", key: key).status == 200) }
        #expect(try await run(try ServerProcess.executable, ["audit", "verify", "--database-url", cluster.url, "--data-dir", server.directory.path]).status == 0)
        #expect(server.stop() == 0)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
