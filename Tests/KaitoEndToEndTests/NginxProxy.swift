import Foundation
import KaitoTestSupport

/// nginx running `deploy/nginx.conf` in its own prefix directory.
struct NginxProxy {
    let process: ChildProcess
    let directory: TemporaryDirectory
    let tlsPort: Int
    let redirectPort: Int
    static let nginx = URL(fileURLWithPath: "/usr/sbin/nginx")
    var arguments: [String] { ["-p", directory.path, "-e", directory.path + "/error.log", "-c", directory.path + "/nginx.conf"] }

    /// Writes the recipe with `upstreams` for its one server line, TLS on `tlsPort` (a self-signed certificate made
    /// by openssl), the plain-HTTP redirect on `redirectPort`, and starts nginx in the foreground.
    static func start(upstreams: [String], tlsPort: Int, redirectPort: Int) async throws -> NginxProxy {
        let directory = try TemporaryDirectory()
        let prefix = directory.path
        let openssl = try await run(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-keyout", prefix + "/privkey.pem", "-out", prefix + "/fullchain.pem",
        ])
        guard openssl.status == 0 else { throw Failure("openssl: \(openssl.error)") }
        try writeConfiguration(prefix: prefix, upstreams: upstreams, tlsPort: tlsPort, redirectPort: redirectPort)
        let arguments = ["-p", prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf"]
        let check = try await run(nginx, arguments + ["-t"])
        guard check.status == 0 else { throw Failure("nginx -t: \(check.error)") }
        let process = try ChildProcess(nginx.path, arguments + ["-g", "daemon off;"])
        let proxy = NginxProxy(process: process, directory: directory, tlsPort: tlsPort, redirectPort: redirectPort)
        for _ in 0..<100 {
            if (try? await curl("https://127.0.0.1:\(tlsPort)/health").status) != 0 { return proxy }
            try await Task.sleep(for: .milliseconds(50))
        }
        proxy.stop()
        throw Failure("nginx did not start: \((try? String(contentsOfFile: prefix + "/error.log", encoding: .utf8)) ?? "")")
    }

    /// The recipe with `upstreams` for its one server line, and the ports and certificate of the test.
    static func writeConfiguration(prefix: String, upstreams: [String], tlsPort: Int, redirectPort: Int) throws {
        var recipe = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("deploy/nginx.conf"), encoding: .utf8)
        let replacements = [
            ("    server 127.0.0.1:8080;\n", upstreams.map { "    server \($0);\n" }.joined()),
            ("listen 443 ssl http2;", "listen 127.0.0.1:\(tlsPort) ssl http2;"),
            ("listen 80;", "listen 127.0.0.1:\(redirectPort);"),
            ("/etc/ssl/kaito/", prefix + "/"),
        ]
        for (recipeText, testText) in replacements {
            guard recipe.contains(recipeText) else { throw Failure("deploy/nginx.conf no longer contains \(recipeText.debugDescription)") }
            recipe = recipe.replacingOccurrences(of: recipeText, with: testText)
        }
        // What /etc/nginx/nginx.conf provides around a site's file, with every path in the prefix directory.
        let configuration = """
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/error.log warn;
            worker_processes 1;
            events { worker_connections 256; }
            http {
                access_log \(prefix)/access.log;
                client_body_temp_path \(prefix)/body;
                proxy_temp_path \(prefix)/proxy;
                fastcgi_temp_path \(prefix)/fastcgi;
                uwsgi_temp_path \(prefix)/uwsgi;
                scgi_temp_path \(prefix)/scgi;
            \(recipe)
            }
            """
        try configuration.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
    }

    /// New upstream lines, checked with `nginx -t`, then SIGHUP: new workers take them, the old ones finish what they
    /// have in flight and exit. Returns once no old worker is left.
    func reload(upstreams: [String]) async throws {
        let workers = try Self.workers(of: process.pid)
        try Self.writeConfiguration(prefix: directory.path, upstreams: upstreams, tlsPort: tlsPort, redirectPort: redirectPort)
        let check = try await run(Self.nginx, arguments + ["-t"])
        guard check.status == 0 else { throw Failure("nginx -t: \(check.error)") }
        process.signal(SIGHUP)
        for _ in 0..<100 {
            if try Self.workers(of: process.pid).isDisjoint(with: workers) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure("nginx's old workers did not exit after the reload")
    }

    /// The pids of a process's children (nginx's workers), from /proc.
    static func workers(of pid: Int32) throws -> Set<String> {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return Set(text.split(separator: " ").map(String.init))
    }

    func stop() {
        process.signal(SIGINT)  // nginx's fast shutdown
        process.wait()
        directory.remove()
    }
}

/// One request with curl (from the source address `from`, certificate checks off for the test's self-signed one).
/// Status 0 when nothing answered.
func curl(
    _ url: String, key: String? = nil, method: String = "GET", body: String? = nil, from address: String? = nil, headers: [String] = []
) async throws -> (status: Int, headers: String, body: String) {
    var arguments = ["-sk", "-X", method, "-D", "-", "-w", "\n%{http_code}", url]
    if let address { arguments += ["--interface", address] }
    if let key { arguments += ["-H", "Authorization: Bearer \(key)"] }
    if let body {
        arguments += ["--data-binary", "@-"]
        if !headers.contains(where: { $0.lowercased().hasPrefix("content-type:") }) { arguments += ["-H", "Content-Type: application/json"] }
    }
    for header in headers { arguments += ["-H", header] }
    let result = try await run(URL(fileURLWithPath: "/usr/bin/curl"), arguments, input: body.map { Data($0.utf8) })
    var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
    let status = Int(lines.popLast() ?? "") ?? 0
    let text = lines.joined(separator: "\n")
    let parts = text.components(separatedBy: "\r\n\r\n")
    return (status, parts.first ?? "", parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// A TCP port nothing listens on now (bound to port 0 and released).
func freePort() throws -> Int {
    let (descriptor, port) = try loopbackSocket(listening: false)
    close(descriptor)
    return port
}
