import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// IP allow-lists on a real socket: the peer is 127.0.0.1, and X-Forwarded-For counts only from trusted proxies.
@Suite("IP allow-lists and trusted proxies")
struct AllowListTests {
    func key(_ client: any TestClientProtocol, _ admin: String, cidrs: [String]) async throws -> String {
        let list = cidrs.map { "\"\($0)\"" }.joined(separator: ", ")
        let response = try await client.send(.post, "/v1/keys", key: admin, json: #"{"name": "net", "scopes": ["tokens:read"], "allowed_cidrs": [\#(list)]}"#)
        #expect(response.status == .created, "\(response.text)")
        return try #require(try response.decode(KeyResponse.self).key)
    }

    @Test("The socket peer is checked against IPv4, IPv6 and IPv4-mapped networks")
    func peer() async throws {
        try await withTestApp(.live) { test, client in
            let cases: [([String], HTTPResponse.Status)] = [
                (["127.0.0.0/8"], .ok), (["127.0.0.1"], .ok), (["::ffff:127.0.0.0/104"], .ok),
                (["10.0.0.0/8", "127.0.0.1/32"], .ok), (["10.0.0.0/8"], .forbidden), (["::1/128"], .forbidden),
                (["2001:db8::/32"], .forbidden),
            ]
            for (cidrs, status) in cases {
                let secret = try await key(client, test.adminKey, cidrs: cidrs)
                let response = try await client.send(.get, "/v1/tokens", key: secret)
                #expect(response.status == status, "\(cidrs)")
                if status == .forbidden {
                    #expect(try response.problem().code == "ip_not_allowed")
                }
            }
            // X-Forwarded-For from an untrusted peer is ignored.
            let onlyDocNet = try await key(client, test.adminKey, cidrs: ["203.0.113.0/24"])
            let spoofed = try await client.send(.get, "/v1/tokens", key: onlyDocNet, headers: [.xForwardedForTests: "203.0.113.9"])
            #expect(spoofed.status == .forbidden)
            // The address used is recorded.
            let local = try await key(client, test.adminKey, cidrs: [])
            _ = try await client.send(.get, "/v1/tokens", key: local)
            let listed = try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self)
            #expect(listed.data.contains { $0.lastUsedIP == "127.0.0.1" && $0.lastUsedAt != nil })
        }
    }

    @Test("Behind a trusted proxy, the right-most untrusted X-Forwarded-For address is the client")
    func trustedProxy() async throws {
        let proxies = [CIDR("127.0.0.0/8")!, CIDR("10.0.0.0/8")!]
        try await withTestApp(.live, trustedProxies: proxies) { test, client in
            let docNet = try await key(client, test.adminKey, cidrs: ["203.0.113.0/24", "2001:db8::/32"])
            let cases: [(String?, HTTPResponse.Status)] = [
                ("203.0.113.9", .ok),
                ("198.51.100.1, 203.0.113.9", .ok),              // the client's claim on the left is not believed...
                ("203.0.113.9, 198.51.100.1", .forbidden),       // ...the right-most untrusted hop is
                ("203.0.113.9, 10.1.2.3", .ok),                  // trusted hops are skipped
                ("2001:db8::5", .ok),
                ("[not an address]", .forbidden),                // garbage: the proxy's own address stands
                (nil, .forbidden),                               // no header: the proxy itself is the client
            ]
            for (header, status) in cases {
                var headers: HTTPFields = [:]
                if let header { headers[.xForwardedForTests] = header }
                let response = try await client.send(.get, "/v1/tokens", key: docNet, headers: headers)
                #expect(response.status == status, "\(header ?? "none")")
            }
        }
    }
}

extension AllowListTests {
    @Test("Restrictions combined: each one denies on its own, in the documented order")
    func combined() async throws {
        try await withTestApp(.live, trustedProxies: [CIDR("127.0.0.0/8")!]) { test, client in
            let writer = try await test.key([.tokensWrite])
            for slug in ["aws-prod", "github"] {
                _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "JBSWY3DPEHPK3PXP"}"#)
            }
            let expiry = Timestamp.format(test.clock.now().addingTimeInterval(600))
            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: """
                {"name": "all", "scopes": ["tokens:code"], "allowed_cidrs": ["203.0.113.0/24"], "token_slugs": ["aws-prod"],
                 "expires_at": "\(expiry)", "single_use": true}
                """)
            let secret = try #require(try created.decode(KeyResponse.self).key)
            let inside: HTTPFields = [.xForwardedForTests: "203.0.113.5"]
            let outside: HTTPFields = [.xForwardedForTests: "198.51.100.5"]
            // Address before scope, scope before binding, binding before the handler; none of them spends the key.
            #expect(try await client.send(.get, "/v1/tokens", key: secret, headers: outside).problem().code == "ip_not_allowed")
            #expect(try await client.send(.get, "/v1/tokens", key: secret, headers: inside).problem().code == "insufficient_scope")
            #expect(try await client.send(.get, "/v1/tokens/github/code", key: secret, headers: inside).problem().code == "token_not_allowed")
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: secret, headers: outside).problem().code == "ip_not_allowed")
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: secret, headers: inside).status == .ok)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: secret, headers: inside).problem().code == "invalid_key")

            // Expiry comes before the address check.
            let other = try await client.send(.post, "/v1/keys", key: test.adminKey, json: """
                {"name": "later", "scopes": ["tokens:code"], "allowed_cidrs": ["203.0.113.0/24"], "expires_at": "\(expiry)"}
                """)
            let later = try #require(try other.decode(KeyResponse.self).key)
            test.clock.advance(by: 600)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: later, headers: outside).problem().code == "key_expired")
        }
    }
}

extension HTTPField.Name {
    static let xForwardedForTests = HTTPField.Name("X-Forwarded-For")!
}
