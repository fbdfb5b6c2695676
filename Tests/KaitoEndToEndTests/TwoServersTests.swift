import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// Two `kaito serve` processes on one PostgreSQL database, as behind a load balancer.
@Suite("End to end: two servers on one PostgreSQL", .serialized, .enabled(if: TestDatabase.postgresAdminURL != nil))
struct TwoServersTests {
    @Test("Started together, they migrate once; what one creates, the other serves")
    func sharedDatabase() async throws {
        let admin = try #require(TestDatabase.postgresAdminURL)
        let url = try await TestDatabase.createDatabase(adminURL: admin)
        // Both servers share the master key, as a deployment does.
        let master = MasterKey.generate().base64
        async let first = ServerProcess.start(databaseURL: url, environment: ["KAITO_MASTER_KEY": master])
        async let second = ServerProcess.start(databaseURL: url, environment: ["KAITO_MASTER_KEY": master])
        let servers = try await [first, second]
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await check(servers, http)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            for server in servers { _ = server.stop() }
            throw error
        }
        for server in servers {
            #expect(server.stop() == 0)
            server.directory.remove()
        }
        await TestDatabase.dropDatabase(url: url, adminURL: admin)
    }

    func check(_ servers: [ServerProcess], _ http: HTTPClient) async throws {
        // Exactly one of them bootstrapped the organisation and wrote its admin key.
        let bootstrapFiles = servers.compactMap { try? String(contentsOfFile: $0.directory.path + "/bootstrap-admin.key", encoding: .utf8) }
        #expect(bootstrapFiles.count == 1)
        let admin = try #require(bootstrapFiles.first).trimmingCharacters(in: .whitespacesAndNewlines)
        let (one, two) = (servers[0].url, servers[1].url)

        let created = try await request(http, .POST, one + "/v1/keys", key: admin, body: #"{"name": "both", "scopes": ["tokens:write", "tokens:code", "tokens:read"]}"#)
        #expect(created.status == 201)
        let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: created.body).key)
        #expect(try await request(http, .GET, two + "/v1/keys/self", key: key).status == 200)

        let secret = Base32.encode(SystemRandomSource().bytes(20))
        #expect(try await request(http, .POST, two + "/v1/tokens", key: key, body: #"{"slug": "aws-prod", "secret": "\#(secret)"}"#).status == 201)
        let fromOne = try await request(http, .GET, one + "/v1/tokens/aws-prod/code?min_valid=3", key: key)
        let fromTwo = try await request(http, .GET, two + "/v1/tokens/aws-prod/code", key: key)
        #expect(fromOne.status == 200 && fromTwo.status == 200)
        #expect(try JSONDecoder().decode(CodeResponse.self, from: fromOne.body).code == JSONDecoder().decode(CodeResponse.self, from: fromTwo.body).code)
        // A slug taken through one server is a conflict through the other.
        #expect(try await request(http, .POST, one + "/v1/tokens", key: key, body: #"{"slug": "aws-prod", "secret": "\#(secret)"}"#).status == 409)

        // One Idempotency-Key sent 32 times at once, half to each server: one endpoint; every other answer is it
        // again or "still running".
        let answers = try await withThrowingTaskGroup(of: (status: UInt, body: Data).self) { group in
            for index in 0..<32 {
                group.addTask {
                    try await request(http, .POST, (index % 2 == 0 ? one : two) + "/v1/webhooks", key: admin,
                                      body: #"{"url": "https://93.184.216.34/once", "topics": ["sms.inbound"]}"#, headers: [("Idempotency-Key", "register-once")])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0.status == 201 || $0.status == 409 }, "\(answers.map(\.status))")
        let ids = Set(answers.filter { $0.status == 201 }.compactMap { try? JSONDecoder().decode(WebhookResponse.self, from: $0.body).id })
        #expect(ids.count == 1)
        let endpoints = try await request(http, .GET, two + "/v1/webhooks", key: admin)
        #expect(try JSONDecoder().decode(ListResponse<WebhookResponse>.self, from: endpoints.body).data.filter { $0.url.hasSuffix("/once") }.count == 1)
        // A retry through the other server gets the kept answer.
        let retried = try await request(http, .POST, one + "/v1/webhooks", key: admin,
                                        body: #"{"url": "https://93.184.216.34/once", "topics": ["sms.inbound"]}"#, headers: [("Idempotency-Key", "register-once")])
        let retriedID = try JSONDecoder().decode(WebhookResponse.self, from: retried.body).id
        #expect(retried.status == 201 && ids.contains(retriedID))

        // Revoked through one, refused by the other at once.
        let keyID = try JSONDecoder().decode(KeyResponse.self, from: created.body).id
        #expect(try await request(http, .DELETE, two + "/v1/keys/\(keyID)", key: admin).status == 204)
        #expect(try await request(http, .GET, one + "/v1/tokens", key: key).status == 401)
    }
}
