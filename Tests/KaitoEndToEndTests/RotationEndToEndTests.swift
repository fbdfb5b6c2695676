import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

/// `kaito admin rotate-master-key` and `rotate-data-key` against a live server under load.
@Suite("End to end: key rotation", .serialized)
struct RotationEndToEndTests {
    @Test("Rotation while requests keep succeeding; the old key is then refused at start, the new one serves the same codes")
    func rotateUnderLoad() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var restarted: ServerProcess?
        do {
            let directory = server.directory.path
            let admin = try String(contentsOfFile: directory + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let oldKey = try String(contentsOfFile: directory + "/master.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let made = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:write", "tokens:code"]}"#)
            let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: made.body).key)
            _ = try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#)

            let answered = NIOLockedValueBox(0)
            let load = Task {
                var statuses: [UInt: Int] = [:]
                // Paced under the key's 60 codes a minute burst: every answer should be a 200.
                while !Task.isCancelled {
                    let status = (try? await request(http, .GET, server.url + "/v1/tokens/aws-prod/code", key: key).status) ?? 0
                    if Task.isCancelled { break }
                    statuses[status, default: 0] += 1
                    answered.withLockedValue { $0 += 1 }
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return statuses
            }
            // Codes are read before, during and after the rotation.
            try await waitUntil("codes are being read") { answered.withLockedValue { $0 } >= 5 }
            let newKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            try Data((newKey + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/new.key"))
            let rotated = try await run(kaito, ["admin", "rotate-master-key", "--new-key-file", directory + "/new.key", "--data-dir", directory])
            let atEnd = answered.withLockedValue { $0 }
            try await waitUntil("codes are read after the rotation") { answered.withLockedValue { $0 } >= atEnd + 5 }
            load.cancel()
            let statuses = await load.value
            #expect(rotated.status == 0, "\(rotated.error)")
            #expect(rotated.output.contains("re-wrapped 1 data keys"), "\(rotated.output)")
            #expect(statuses.keys.sorted() == [200] && statuses[200, default: 0] > 0, "every request succeeded: \(statuses)")
            // The server still holds the old key, and keeps serving after the rotation.
            for _ in 0..<5 {
                #expect(try await request(http, .GET, server.url + "/v1/tokens/aws-prod/code", key: key).status == 200)
            }
            #expect(try String(contentsOfFile: directory + "/master.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == newKey)
            #expect(server.stop() == 0)

            // The old key: refused at start with a message that names the keys. The new one: the same codes.
            let refused = try await run(kaito, ["serve", "--port", "0", "--data-dir", directory], environment: ["KAITO_MASTER_KEY": oldKey])
            #expect(refused.status != 0)
            #expect(refused.error.contains("wrapped by master key mk_") && refused.error.contains("rotated"), "\(refused.error)")
            #expect(try await run(kaito, ["admin", "rotate-master-key", "--new-key-file", directory + "/new.key", "--data-dir", directory], environment: ["KAITO_MASTER_KEY": oldKey]).status == 1)
            let again = try await ServerProcess.start(directory: TemporaryDirectory(existing: directory))
            restarted = again
            let code = try JSONDecoder().decode(CodeResponse.self, from: try await request(http, .GET, again.url + "/v1/tokens/aws-prod/code?min_valid=5", key: key).body)
            #expect(code.code == (try await TestEnvironment.runPython("import pyotp; print(pyotp.TOTP('JBSWY3DPEHPK3PXP').now())", [])))
            #expect(again.stop() == 0)
            restarted = nil
        } catch {
            _ = restarted?.stop()
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test("rotate-data-key while codes are served: every request succeeds, the seeds are re-encrypted, the codes are pyotp's")
    func rotateDataKeyUnderLoad() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let directory = server.directory.path
            let admin = try String(contentsOfFile: directory + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let made = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:write", "tokens:code", "audit:read"]}"#)
            let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: made.body).key)
            let seeds = ["JBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLU", "GEZDGNBVGY3TQOJQ"]
            for (index, seed) in seeds.enumerated() {
                #expect(try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "t\#(index)", "secret": "\#(seed)"}"#).status == 201)
            }
            let answered = NIOLockedValueBox(0)
            let load = Task {
                var statuses: [UInt: Int] = [:]
                for round in 0..<40 {
                    let status = (try? await request(http, .GET, server.url + "/v1/tokens/t\(round % seeds.count)/code", key: key).status) ?? 0
                    statuses[status, default: 0] += 1
                    answered.withLockedValue { $0 += 1 }
                    try? await Task.sleep(for: .milliseconds(10))
                }
                return statuses
            }
            try await waitUntil("codes are being read") { answered.withLockedValue { $0 } >= 5 }
            let rotated = try await run(kaito, ["admin", "rotate-data-key", "default", "--batch-size", "1", "--data-dir", directory])
            let statuses = await load.value
            #expect(rotated.status == 0, "\(rotated.error)")
            #expect(rotated.output.contains("default: data key version 2; re-encrypted 3 values; deleted 1 earlier versions"), "\(rotated.output)")
            #expect(statuses.keys.sorted() == [200], "every request succeeded: \(statuses)")
            // The server that held version 1 in memory serves the re-encrypted seeds; so does a restarted one.
            for (index, seed) in seeds.enumerated() {
                let code = try JSONDecoder().decode(CodeResponse.self, from: try await request(http, .GET, server.url + "/v1/tokens/t\(index)/code?min_valid=5", key: key).body)
                #expect(code.code == (try await TestEnvironment.runPython("import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())", [seed])))
            }
            let audit = try await run(kaito, ["audit", "list", "--action", "org.data_key.rotate"], environment: ["KAITO_URL": server.url, "KAITO_KEY": key])
            #expect(audit.status == 0 && audit.output.contains("org.data_key.rotate"), "\(audit.error)")
            // Bad input: an unknown organisation is exit 4 (not found) and a batch size out of range is a usage error.
            #expect(try await run(kaito, ["admin", "rotate-data-key", "nobody", "--data-dir", directory]).status == 4)
            #expect(try await run(kaito, ["admin", "rotate-data-key", "default", "--batch-size", "0", "--data-dir", directory]).status == 2)
            #expect(server.stop() == 0)
        } catch {
            _ = server.stop()
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
