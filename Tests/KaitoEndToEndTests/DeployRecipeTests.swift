import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// The recipes in `deploy/` run as written: nginx from Debian's packages with `deploy/nginx.conf` (only its
/// addresses, ports and certificate paths changed) in front of `kaito serve`, and the systemd unit checked by
/// `systemd-analyze`. scripts/test installs nginx, curl and openssl when they are missing.
@Suite("End to end: the deploy/ recipes", .serialized)
struct DeployRecipeTests {
    @Test("Behind deploy/nginx.conf: TLS, the client's address from X-Forwarded-For (not forgeable), metrics closed, the redirect, body limits and Twilio's signature on the public URL")
    func behindNginx() async throws {
        let (tls, redirect) = (try freePort(), try freePort())
        let publicURL = "https://127.0.0.1:\(tls)"
        let server = try await ServerProcess.start(environment: ["KAITO_TRUSTED_PROXIES": "127.0.0.1/32", "KAITO_PUBLIC_URL": publicURL])
        defer { server.directory.remove() }
        let nginx = try await NginxProxy.start(upstreams: ["127.0.0.1:\(server.port)"], tlsPort: tls, redirectPort: redirect)
        defer { nginx.stop() }
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(try await curl(publicURL + "/health").status == 200)
        // A key that only 127.0.0.5 may use. The client forges X-Forwarded-For; nginx replaces it with the address
        // it saw, and kaito (trusting only nginx) believes that.
        let made = try await curl(publicURL + "/v1/keys", key: admin, method: "POST",
                            body: #"{"name": "proxied", "scopes": ["tokens:write", "tokens:code"], "allowed_cidrs": ["127.0.0.5/32"]}"#)
        #expect(made.status == 201, "\(made.body)")
        let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: Data(made.body.utf8)).key)
        let forged = ["X-Forwarded-For: 203.0.113.9"]
        #expect(try await curl(publicURL + "/v1/tokens", key: key, method: "POST", body: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#,
                         from: "127.0.0.5", headers: forged).status == 201)
        let code = try await curl(publicURL + "/v1/tokens/aws-prod/code?min_valid=5", key: key, from: "127.0.0.5", headers: forged)
        #expect(code.status == 200, "\(code.body)")
        let expected = try await TestEnvironment.runPython("import pyotp; print(pyotp.TOTP('JBSWY3DPEHPK3PXP').now())", [])
        #expect(try JSONDecoder().decode(CodeResponse.self, from: Data(code.body.utf8)).code == expected)
        // Another client claiming to be 127.0.0.5 is refused; so is nginx's own address reaching kaito directly.
        let claimed = try await curl(publicURL + "/v1/tokens/aws-prod/code", key: key, from: "127.0.0.6", headers: ["X-Forwarded-For: 127.0.0.5"])
        #expect(claimed.status == 403 && claimed.body.contains("ip_not_allowed"), "\(claimed.body)")
        #expect(try await curl(server.url + "/v1/tokens/aws-prod/code", key: key).status == 403)
        // The audit log names the client, not the proxy.
        let auditor = try await curl(publicURL + "/v1/keys", key: admin, method: "POST", body: #"{"name": "auditor", "scopes": ["audit:read"]}"#)
        let auditKey = try #require(try JSONDecoder().decode(KeyResponse.self, from: Data(auditor.body.utf8)).key)
        let events = try JSONDecoder().decode(ListResponse<AuditEventResponse>.self, from: Data(try await curl(publicURL + "/v1/audit?limit=50", key: auditKey).body.utf8)).data
        #expect(events.first { $0.action == "token.code.read" }?.ip == "127.0.0.5")
        #expect(events.first { $0.action == "auth.denied" && $0.ip == "127.0.0.6" } != nil)

        // /metrics is for the monitoring network only; plain HTTP redirects to HTTPS.
        #expect(try await curl(publicURL + "/metrics").status == 403)
        #expect(try await curl(server.url + "/metrics").status == 200)
        let redirected = try await curl("http://127.0.0.1:\(redirect)/health")
        #expect(redirected.status == 308 && redirected.headers.lowercased().contains("location: https://127.0.0.1/health"), "\(redirected.headers)")
        // kaito answers its own 413 problem up to nginx's limit; nginx stops larger bodies.
        let large = try await curl(publicURL + "/v1/tokens", key: key, method: "POST", body: String(repeating: "x", count: 100_000), from: "127.0.0.5")
        #expect(large.status == 413 && large.headers.contains("application/problem+json"), "\(large.headers)")
        #expect(try await curl(publicURL + "/v1/tokens", key: key, method: "POST", body: String(repeating: "x", count: 200_000), from: "127.0.0.5").status == 413)

        // Twilio signs the public URL (KAITO_PUBLIC_URL), which is what the request went to.
        let token = "f3c1a9e07b2d4c58a6e1f0b3d7c9e2a4"
        #expect(try await curl(publicURL + "/v1/org/providers/twilio", key: admin, method: "PUT",
                         body: #"{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "\#(token)"}"#).status == 200)
        #expect(try await curl(publicURL + "/v1/inboxes", key: admin, method: "POST", body: #"{"phone_number": "+15551234567", "provider": "twilio"}"#).status == 201)
        let sid = "SM" + String(repeating: "b", count: 32)
        let parameters = [("AccountSid", "AC0123456789abcdef0123456789abcdef"), ("Body", "Your code is 482913"), ("From", "+15550009999"),
                          ("MessageSid", sid), ("SmsSid", sid), ("To", "+15551234567")]
        let signature = try await TestEnvironment.twilioSignature(url: publicURL + "/providers/twilio/sms", parameters: parameters, authToken: token)
        let form = TestEnvironment.formBody(parameters)
        let callback = try await curl(publicURL + "/providers/twilio/sms", method: "POST", body: form, from: "127.0.0.7",
                                headers: ["X-Twilio-Signature: " + signature, "Content-Type: application/x-www-form-urlencoded"])
        #expect(callback.status == 200, "\(callback.body)")
        let unsigned = try await curl(publicURL + "/providers/twilio/sms", method: "POST", body: form,
                                headers: ["X-Twilio-Signature: " + String(signature.reversed()), "Content-Type: application/x-www-form-urlencoded"])
        #expect(unsigned.status == 403)
        #expect(server.stop() == 0)
    }

    @Test("A rolling restart of two servers on PostgreSQL behind deploy/nginx.conf: every request through nginx succeeds",
          .enabled(if: TestDatabase.postgresAdminURL != nil))
    func rollingRestart() async throws {
        let adminURL = try #require(TestDatabase.postgresAdminURL)
        let url = try await TestDatabase.createDatabase(adminURL: adminURL)
        let environment = ["KAITO_MASTER_KEY": MasterKey.generate().base64, "KAITO_TRUSTED_PROXIES": "127.0.0.1/32"]
        var servers = [try await ServerProcess.start(databaseURL: url, environment: environment)]
        servers.append(try await ServerProcess.start(databaseURL: url, environment: environment))
        let (tls, redirect) = (try freePort(), try freePort())
        let nginx = try await NginxProxy.start(upstreams: servers.map { "127.0.0.1:\($0.port) max_fails=1 fail_timeout=2s" }, tlsPort: tls, redirectPort: redirect)
        defer {
            nginx.stop()
            for server in servers { _ = server.stop(); server.directory.remove() }
        }
        let base = "https://127.0.0.1:\(tls)"
        let admin = try #require(servers.compactMap { try? String(contentsOfFile: $0.directory.path + "/bootstrap-admin.key", encoding: .utf8) }.first)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await curl(base + "/v1/org/billing/subscription", key: admin, method: "PUT", body: #"{"plan": "enterprise"}"#).status == 200)
        let made = try await curl(base + "/v1/keys", key: admin, method: "POST",
                            body: #"{"name": "load", "scopes": ["tokens:write", "tokens:code"], "rate_limits": {"code": 100000, "write": 100000}}"#)
        let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: Data(made.body.utf8)).key)
        #expect(try await curl(base + "/v1/tokens", key: key, method: "POST", body: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == 201)

        // Two curls over the whole upgrade (12 s), each printing every answer's status on a line of its own after
        // the body: code reads at 40 a second (nginx may retry a GET on the next server), and PATCHes at 20 a
        // second, which nginx never retries once sent: those pass only if a stopping server finishes what it has.
        // Their output goes to files, and they are awaited by polling: a blocking read or wait would hold one of the
        // test's few cooperative threads.
        func load(_ extra: [String], rate: Int, count: Int, output: String) throws -> ChildProcess {
            // A new connection per request: a reload closes nginx's idle client connections, and a client that writes
            // on one just then sees the connection drop (on its side, before any server), which no server can prevent.
            let arguments = ["-sk", "--http1.1", "-H", "Connection: close", "--rate", "\(rate)/s", "-H", "Authorization: Bearer \(key)",
                                 "-w", "\n%{http_code}\n"] + extra
                + Array(repeating: base + "/v1/tokens/aws-prod" + (extra.isEmpty ? "/code" : ""), count: count)
            return try ChildProcess("/usr/bin/curl", arguments, stdout: .file(output))
        }
        let outputs = try TemporaryDirectory()
        defer { outputs.remove() }
        let reads = try load([], rate: 40, count: 480, output: outputs.path + "/reads")
        let writes = try load(["-X", "PATCH", "-H", "Content-Type: application/json", "--data-binary", #"{"name": "AWS production"}"#],
                              rate: 20, count: 240, output: outputs.path + "/writes")

        // Upgrade one server at a time, as docs/operations.md says: mark it `down` and reload nginx (its requests in
        // flight finish, its idle connections close), stop it (SIGTERM), start the new one on the same port, wait
        // until it is ready, put it back, then the next. Stopping a server that nginx still sends to is not enough:
        // a PATCH that nginx writes on an idle connection the server is closing fails with 502, and nginx never
        // retries a non-idempotent request.
        let upstream = { (down: Int?) in servers.indices.map { "127.0.0.1:\(servers[$0].port) max_fails=1 fail_timeout=2s" + ($0 == down ? " down" : "") } }
        try await Task.sleep(for: .seconds(1))
        for index in servers.indices {
            try await nginx.reload(upstreams: upstream(index))
            let old = servers[index]
            #expect(old.stop() == 0)
            let new = try await ServerProcess.start(databaseURL: url, environment: environment, directory: old.directory, port: old.port)
            servers[index] = new
            #expect(try await curl(new.url + "/ready").status == 200)
            try await nginx.reload(upstreams: upstream(nil))
            try await Task.sleep(for: .milliseconds(1500))
        }
        for (process, name, count) in [(reads, "reads", 480), (writes, "writes", 240)] {
            while process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let lines = try String(contentsOfFile: outputs.path + "/" + name, encoding: .utf8).split(separator: "\n")
            let statuses = lines.filter { $0.count == 3 && $0.allSatisfy(\.isNumber) }.reduce(into: [String: Int]()) { $0[String($1), default: 0] += 1 }
            #expect(statuses == ["200": count], "every request answered 200: \(statuses)")
            #expect(lines.filter { $0.hasPrefix("{\"") }.count == count)
        }
        for server in servers { #expect(server.stop() == 0) }
        servers = []
        await TestDatabase.dropDatabase(url: url, adminURL: adminURL)
    }

    @Test("deploy/kaito.service passes systemd-analyze verify, and its hardening rates OK (exposure at most 2.0)")
    func systemdUnit() async throws {
        let unit = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("deploy/kaito.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/kaito serve"))
        // verify checks that the command exists: point it at the built binary.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/kaito.service"
        try unit.replacingOccurrences(of: "ExecStart=/usr/local/bin/kaito", with: "ExecStart=" + (try ServerProcess.executable.path))
            .write(toFile: path, atomically: true, encoding: .utf8)
        let analyze = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        let verified = try await run(analyze, ["verify", path])
        #expect(verified.status == 0 && verified.error.isEmpty && verified.output.isEmpty, "\(verified.output)\(verified.error)")
        let security = try await run(analyze, ["security", "--offline=true", "--threshold=20", "--no-pager", path])
        #expect(security.status == 0, "\(security.output)")
        #expect(security.output.contains("Overall exposure level for kaito.service: 1."), "\(security.output.suffix(200))")
    }
}
