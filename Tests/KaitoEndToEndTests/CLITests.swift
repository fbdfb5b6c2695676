import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The client commands against a live server: their output, `--json`, exit codes and `--retry`.
@Suite("End to end: the kaito client commands", .serialized)
struct CLITests {
    @Test("tokens list and keys list, human and --json; --retry waits out a 429, without it the exit code is 5")
    func listsAndRetry() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let made = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:write", "tokens:read", "tokens:code"]}"#)
            let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: made.body).key)
            for slug in ["aws-prod", "gcp-prod"] {
                _ = try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "\#(slug)", "secret": "JBSWY3DPEHPK3PXP"}"#)
            }
            let kaito = try ServerProcess.executable
            let environment = ["KAITO_URL": server.url, "KAITO_KEY": key]

            let tokens = try await run(kaito, ["tokens", "list"], environment: environment)
            #expect(tokens.status == 0, "\(tokens.error)")
            #expect(tokens.output == "aws-prod\tSHA1\t6\t30\ngcp-prod\tSHA1\t6\t30\n")
            let json = try await run(kaito, ["tokens", "list", "--json"], environment: environment)
            let decoded = try JSONDecoder().decode([TokenResponse].self, from: Data(json.output.utf8))
            #expect(decoded.map(\.slug) == ["aws-prod", "gcp-prod"])
            #expect(try await run(kaito, ["keys", "list"], environment: environment).status == 3, "keys need org:admin")
            let keys = try await run(kaito, ["keys", "list", "--json"], environment: ["KAITO_URL": server.url, "KAITO_KEY": admin])
            #expect(try JSONDecoder().decode([KeyResponse].self, from: Data(keys.output.utf8)).count == 2)
            #expect(!keys.output.contains(key), "listings never show a key")

            // Inboxes, messages and webhooks.
            let adminEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": admin]
            let inbox = try JSONDecoder().decode(InboxResponse.self, from: try await request(
                http, .POST, server.url + "/v1/inboxes", key: admin, body: #"{"phone_number": "+15552220000", "provider": "simulator", "label": "QA"}"#).body)
            #expect(try await run(kaito, ["sms", "simulate", "--inbox", inbox.id, "--from", "+15550001111", "--body", "Your code is 482913"], environment: adminEnvironment).status == 0)
            let inboxes = try await run(kaito, ["inboxes", "list"], environment: adminEnvironment)
            #expect(inboxes.output == "\(inbox.id)\t+15552220000\tsimulator\tQA\n", "\(inboxes.error)")
            let readerMade = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "qa", "scopes": ["sms:read"]}"#)
            let reader = try #require(try JSONDecoder().decode(KeyResponse.self, from: readerMade.body).key)
            let messages = try await run(kaito, ["sms", "messages", "--inbox", inbox.id, "--json"], environment: ["KAITO_URL": server.url, "KAITO_KEY": reader])
            let listed = try JSONDecoder().decode([SMSMessageResponse].self, from: Data(messages.output.utf8))
            #expect(listed.map(\.code) == ["482913"])
            #expect(try await run(kaito, ["sms", "messages", "--limit", "0"], environment: ["KAITO_URL": server.url, "KAITO_KEY": reader]).status == 2)
            _ = try await request(http, .POST, server.url + "/v1/webhooks", key: admin, body: #"{"url": "https://93.184.216.34/kaito", "topics": ["sms.inbound"]}"#)
            let hooks = try await run(kaito, ["webhook", "list"], environment: adminEnvironment)
            #expect(hooks.output.hasSuffix("\tenabled\tsms.inbound\thttps://93.184.216.34/kaito\n"), "\(hooks.output) \(hooks.error)")
            #expect(try await run(kaito, ["webhook", "list"], environment: ["KAITO_URL": server.url, "KAITO_KEY": reader]).status == 3)

            // A key allowed 6 codes a minute (Enterprise): after its burst, Retry-After is about 10 s.
            #expect(try await run(kaito, ["admin", "set-plan", "default", "enterprise", "--data-dir", server.directory.path]).status == 0)

            // sms send: one SMS however often it is sent with one idempotency key; --retry makes up a key of its own.
            let senderMade = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "notify", "scopes": ["sms:send"]}"#)
            let sendEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": try #require(try JSONDecoder().decode(KeyResponse.self, from: senderMade.body).key)]
            let send = ["sms", "send", "--from", inbox.id, "--to", "+15557654321", "--body", "Deploy done"]
            let first = try await run(kaito, send + ["--idempotency-key", "deploy-4711"], environment: sendEnvironment)
            let again = try await run(kaito, send + ["--idempotency-key", "deploy-4711", "--retry"], environment: sendEnvironment)
            #expect(first.status == 0 && again.status == 0 && !first.output.isEmpty && again.output == first.output, "\(first.error) \(again.error)")
            let other = try await run(kaito, send + ["--retry"], environment: sendEnvironment)
            #expect(other.status == 0 && other.output != first.output, "a new command, a new SMS")
            let reused = try await run(kaito, ["sms", "send", "--from", inbox.id, "--to", "+15557654321", "--body", "Other text", "--idempotency-key", "deploy-4711"], environment: sendEnvironment)
            #expect(reused.status == 1 && reused.error.contains("idempotency_key_reused"), "\(reused.error)")
            #expect(try await run(kaito, send + ["--idempotency-key", ""], environment: sendEnvironment).status == 2)
            let slowMade = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "slow", "scopes": ["tokens:code"], "rate_limits": {"code": 6}}"#)
            let slow = try #require(try JSONDecoder().decode(KeyResponse.self, from: slowMade.body).key)
            for _ in 0..<6 { #expect(try await request(http, .GET, server.url + "/v1/tokens/aws-prod/code", key: slow).status == 200) }
            let slowEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": slow]
            let limited = try await run(kaito, ["code", "aws-prod"], environment: slowEnvironment)
            #expect(limited.status == 5, "\(limited.error)")
            #expect(limited.error.contains("rate_limited"))
            let impatient = try await run(kaito, ["code", "aws-prod", "--retry", "--max-wait", "2"], environment: slowEnvironment)
            #expect(impatient.status == 5, "Retry-After is beyond --max-wait")
            let started = Date()
            let retried = try await run(kaito, ["code", "aws-prod", "--retry", "--max-wait", "30"], environment: slowEnvironment)
            #expect(retried.status == 0, "\(retried.error)")
            #expect(retried.output.trimmingCharacters(in: .newlines).count == 6)
            #expect(Date().timeIntervalSince(started) > 2, "it waited for Retry-After")
        } catch {
            try? await http.shutdown()
            _ = server.stop()
            throw error
        }
        try await http.shutdown()
        #expect(server.stop() == 0)
    }

    @Test("kaito --version; completion scripts bash, zsh and fish load; every command's --help has an example; kaito api calls any route with the exit code of its status")
    func versionCompletionHelpAndAPI() async throws {
        let kaito = try ServerProcess.executable
        let version = try await run(kaito, ["--version"])
        #expect(version.status == 0 && version.output == KaitoVersion.current + "\n")
        let bash = try await run(URL(fileURLWithPath: "/bin/bash"), ["-c", "source <(\"$0\" completion bash) && complete -p kaito", kaito.path])
        #expect(bash.status == 0 && bash.output.contains("kaito"), "\(bash.output) \(bash.error)")
        #expect(try await run(kaito, ["completion", "zsh"]).output.hasPrefix("#compdef kaito"))
        #expect(try await run(kaito, ["completion", "fish"]).output.contains("complete -c 'kaito'"))
        #expect(try await run(kaito, ["completion", "tcsh"]).status == 2)

        // Every command a user runs (the leaves of the tree) shows one example in its --help.
        let tree = try JSONSerialization.jsonObject(with: Data(try await run(kaito, ["--experimental-dump-help"]).output.utf8)) as? [String: Any]
        var leaves: [[String]] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            let name = command["commandName"] as? String ?? ""
            if subcommands.isEmpty, name != "help" { leaves.append(path) }
            for sub in subcommands { walk(sub, path + [sub["commandName"] as? String ?? ""]) }
        }
        walk(try #require(tree?["command"] as? [String: Any]), [])
        #expect(leaves.count >= 35, "\(leaves.count) commands")
        for leaf in leaves {
            let help = try await run(kaito, leaf + ["--help"])
            #expect(help.status == 0 && help.output.contains("Example"), "\(leaf.joined(separator: " "))")
        }

        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let environment = ["KAITO_URL": server.url, "KAITO_KEY": admin]
        let health = try await run(kaito, ["api", "GET", "/health"], environment: environment)
        #expect(health.status == 0 && health.output.contains(#""version":"\#(KaitoVersion.current)""#), "\(health.output)")
        let made = try await run(kaito, ["api", "POST", "/v1/keys", "--raw-field", "name=writer", "--input", "-"], environment: environment)
        #expect(made.status == 2, "--input and --raw-field exclude each other")
        let key = try await run(kaito, ["api", "POST", "/v1/keys", "--include", "--input", "-"], environment: environment,
                                input: Data(#"{"name": "writer", "scopes": ["tokens:write", "tokens:read"]}"#.utf8))
        #expect(key.status == 0 && key.error.contains("HTTP 201"), "\(key.output) \(key.error)")
        let writer = try #require(try JSONDecoder().decode(KeyResponse.self, from: Data(key.output.utf8)).key)
        let writerEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": writer]
        let token = try await run(kaito, ["api", "POST", "/v1/tokens", "-f", "slug=aws-prod", "-r", "secret=JBSWY3DPEHPK3PXP", "-f", "digits=8"], environment: writerEnvironment)
        let created = try? JSONDecoder().decode(TokenResponse.self, from: Data(token.output.utf8))
        #expect(token.status == 0 && created?.digits == 8, "\(token.output) \(token.error)")
        let missing = try await run(kaito, ["api", "GET", "/v1/tokens/nope"], environment: writerEnvironment)
        #expect(missing.status == 4 && missing.output.contains("not_found"))
        #expect(try await run(kaito, ["api", "DELETE", "/v1/keys/key_x"], environment: writerEnvironment).status == 3)
        #expect(try await run(kaito, ["api", "FETCH", "/v1/tokens"], environment: writerEnvironment).status == 2)
        #expect(server.stop() == 0)
    }

    @Test("A script's whole setup through the CLI: keys, tokens, inboxes and webhooks created and removed; audit list with filters")
    func changesAndAudit() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let adminEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": admin]
        defer { _ = server.stop() }

        // keys create prints the key alone: a script captures it with $(...).
        let created = try await run(kaito, ["keys", "create", "--name", "setup", "--scopes", "tokens:write,tokens:code,audit:read"], environment: adminEnvironment)
        #expect(created.status == 0, "\(created.error)")
        let writer = created.output.trimmingCharacters(in: .newlines)
        #expect(writer.hasPrefix("kto_live_") && writer.count == 45 && !writer.contains("\n"))
        #expect(created.error.contains("shown this once"))
        let environment = ["KAITO_URL": server.url, "KAITO_KEY": writer]

        // tokens create: the secret from standard input (never in argv), checked against pyotp.
        let token = try await run(kaito, ["tokens", "create", "aws-prod", "--secret-stdin", "--issuer", "AWS"], environment: environment, input: Data("JBSWY3DPEHPK3PXP\n".utf8))
        #expect(token.status == 0, "\(token.error)")
        #expect(token.output == "aws-prod\n")
        let uri = "otpauth://totp/GCP:ops@acme.example?secret=KRSXG5CTMVRXEZLU&issuer=GCP&digits=8&algorithm=SHA256"
        let fromURI = try await run(kaito, ["tokens", "create", "gcp-prod", "--secret-stdin", "--json"], environment: environment, input: Data(uri.utf8))
        let gcp = try JSONDecoder().decode(TokenResponse.self, from: Data(fromURI.output.utf8))
        #expect(gcp.digits == 8 && gcp.algorithm == "SHA256" && gcp.issuer == "GCP")
        let code = try await run(kaito, ["code", "gcp-prod", "--min-valid", "5"], environment: environment)
        let expected = try await TestEnvironment.runPython("import pyotp, hashlib; print(pyotp.TOTP('KRSXG5CTMVRXEZLU', digits=8, digest=hashlib.sha256).now())", [])
        #expect(code.output.trimmingCharacters(in: .newlines) == expected)
        #expect(try await run(kaito, ["tokens", "create", "aws-prod", "--secret", "JBSWY3DPEHPK3PXP"], environment: environment).status == 1, "409: taken")
        #expect(try await run(kaito, ["tokens", "create", "x", "--secret", "A", "--otpauth-uri", uri], environment: environment).status == 2, "one seed source")
        #expect(try await run(kaito, ["tokens", "create", "x", "--secret-stdin"], environment: environment, input: Data()).status == 2)

        // A bound, single-use key from the flags; revoke works at once.
        let bound = try await run(kaito, [
            "keys", "create", "--name", "deploy", "--scopes", "tokens:code", "--token", "aws-prod", "--cidr", "127.0.0.0/8",
            "--cidr", "::1/128", "--single-use", "--expires-at", "2099-01-01T00:00:00+02:00", "--json",
        ], environment: adminEnvironment)
        let boundKey = try JSONDecoder().decode(KeyResponse.self, from: Data(bound.output.utf8))
        #expect(boundKey.tokenSlugs == ["aws-prod"] && boundKey.singleUse && boundKey.allowedCIDRs == ["127.0.0.0/8", "::1/128"])
        #expect(boundKey.expiresAt == "2098-12-31T22:00:00Z")
        let boundEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": try #require(boundKey.key)]
        #expect(try await run(kaito, ["code", "gcp-prod"], environment: boundEnvironment).status == 3, "bound to aws-prod")
        #expect(try await run(kaito, ["keys", "revoke", boundKey.id], environment: adminEnvironment).status == 0)
        #expect(try await run(kaito, ["code", "aws-prod"], environment: boundEnvironment).status == 3, "revoked: 401")
        #expect(try await run(kaito, ["keys", "revoke", "key_00000000000000000000000000"], environment: adminEnvironment).status == 4)
        #expect(try await run(kaito, ["keys", "create", "--name", "x", "--scopes", "tokens:code", "--rate-limit", "code=600"], environment: adminEnvironment).status == 3,
                "per-key limits need Enterprise: 403 plan_required")
        #expect(try await run(kaito, ["keys", "create", "--name", "x", "--scopes", "tokens:code", "--rate-limit", "fast"], environment: adminEnvironment).status == 2)
        #expect(try await run(kaito, ["keys", "create", "--name", "x", "--scopes", "tokens:code"], environment: environment).status == 3, "needs org:admin")

        // Inboxes and webhooks.
        let inbox = try await run(kaito, ["inboxes", "create", "+15557770000", "--provider", "simulator", "--label", "QA"], environment: adminEnvironment)
        let inboxID = inbox.output.trimmingCharacters(in: .newlines)
        #expect(inbox.status == 0 && inboxID.hasPrefix("inb_"), "\(inbox.error)")
        #expect(try await run(kaito, ["inboxes", "create", "+15557770000", "--provider", "simulator"], environment: adminEnvironment).status == 1, "409")
        let hook = try await run(kaito, ["webhook", "create", "https://93.184.216.34/hook", "--topic", "audit.event", "--audit-action", "token.*"], environment: adminEnvironment)
        #expect(hook.status == 0 && hook.output.hasPrefix("whsec_"), "\(hook.error)")
        let hooks = try JSONDecoder().decode([WebhookResponse].self, from: Data(try await run(kaito, ["webhook", "list", "--json"], environment: adminEnvironment).output.utf8))
        let endpoint = try #require(hooks.first)
        #expect(endpoint.auditActions == ["token.*"] && endpoint.secret == nil)
        #expect(try await run(kaito, ["webhook", "create", "http://127.0.0.1:9/x", "--topic", "audit.event"], environment: adminEnvironment).status == 1, "422: loopback refused")
        #expect(try await run(kaito, ["webhook", "delete", endpoint.id], environment: adminEnvironment).status == 0)
        #expect(try await run(kaito, ["inboxes", "delete", inboxID], environment: adminEnvironment).status == 0)
        #expect(try await run(kaito, ["inboxes", "list"], environment: adminEnvironment).output.isEmpty)
        #expect(try await run(kaito, ["tokens", "delete", "gcp-prod"], environment: environment).status == 0)
        #expect(try await run(kaito, ["tokens", "delete", "gcp-prod"], environment: environment).status == 4)

        // audit list: what happened above, newest first, with filters; --json is the API's events.
        let all = try await run(kaito, ["audit", "list", "--limit", "500", "--json"], environment: environment)
        let events = try JSONDecoder().decode([AuditEventResponse].self, from: Data(all.output.utf8))
        #expect(events.map(\.seq) == events.map(\.seq).sorted(by: >))
        for action in ["key.create", "token.create", "token.code.read", "key.revoke", "inbox.create", "webhook.create", "token.delete"] {
            #expect(events.contains { $0.action == action }, "\(action)")
        }
        let denied = try await run(kaito, ["audit", "list", "--outcome", "denied", "--json"], environment: environment)
        let deniedEvents = try JSONDecoder().decode([AuditEventResponse].self, from: Data(denied.output.utf8))
        #expect(!deniedEvents.isEmpty && deniedEvents.allSatisfy { $0.outcome == "denied" })
        let tokenEvents = try await run(kaito, ["audit", "list", "--action", "token.*", "--target", "gcp-prod"], environment: environment)
        let lines = tokenEvents.output.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("\ttoken.") && $0.contains("token:gcp-prod") }, "\(tokenEvents.output)")
        #expect(lines.first?.contains("token.delete") == true, "newest first")
        let two = try await run(kaito, ["audit", "list", "--limit", "2", "--since", "2000-01-01T00:00:00+01:00"], environment: environment)
        #expect(two.output.split(separator: "\n").count == 2)
        let none = try await run(kaito, ["audit", "list", "--until", "2000-01-01T00:00:00Z"], environment: environment)
        #expect(none.status == 0 && none.output.isEmpty)
        #expect(try await run(kaito, ["audit", "list", "--since", "yesterday"], environment: environment).status == 1, "400 malformed")
        #expect(try await run(kaito, ["audit", "list", "--limit", "0"], environment: environment).status == 2)
        #expect(try await run(kaito, ["audit", "list"], environment: boundEnvironment).status == 3)
    }
}
