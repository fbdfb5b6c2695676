import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

@Suite("Tokens: /v1/tokens")
struct TokensEndpointTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    @Test("Create from a base32 secret, read, list, patch, delete")
    func lifecycle() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite, .tokensRead])
            let created = try await client.send(.post, "/v1/tokens", key: key, json: """
                {"slug": "aws-prod", "name": "AWS prod root", "issuer": "AWS", "account": "root@acme.example",
                 "secret": "jbsw y3dp ehpk 3pxp", "algorithm": "SHA256", "digits": 8, "period": 60}
                """)
            #expect(created.status == .created)
            #expect(created.headers[.location] == "/v1/tokens/aws-prod")
            let token = try created.decode(TokenResponse.self)
            #expect(token.slug == "aws-prod")
            #expect(token.algorithm == "SHA256" && token.digits == 8 && token.period == 60)
            #expect(token.issuer == "AWS" && token.account == "root@acme.example" && token.name == "AWS prod root")
            #expect(token.createdAt == Timestamp.format(test.clock.now()))

            let read = try await client.send(.get, "/v1/tokens/aws-prod", key: key)
            #expect(read.status == .ok)
            #expect(try read.decode(TokenResponse.self) == token)

            let list = try await client.send(.get, "/v1/tokens", key: key)
            let listed = try list.decode(ListResponse<TokenResponse>.self)
            #expect(listed.data == [token])
            #expect(listed.nextCursor == nil)
            #expect(list.text.contains("\"next_cursor\":null"))

            test.clock.advance(by: 90)
            let patched = try await client.send(.patch, "/v1/tokens/aws-prod", key: key, json: #"{"name": "Renamed", "account": ""}"#)
            #expect(patched.status == .ok)
            let after = try patched.decode(TokenResponse.self)
            #expect(after.name == "Renamed" && after.account == nil && after.issuer == "AWS")
            #expect(after.updatedAt == Timestamp.format(test.clock.now()))

            #expect(try await client.send(.delete, "/v1/tokens/aws-prod", key: key).status == .noContent)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod", key: key).status == .notFound)
            #expect(try await client.send(.delete, "/v1/tokens/aws-prod", key: key).status == .notFound)
        }
    }

    @Test("Create from an otpauth URI takes its parameters and label")
    func fromOTPAuth() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite])
            let response = try await client.send(.post, "/v1/tokens", key: key, json: """
                {"slug": "gh", "otpauth_uri": "otpauth://totp/GitHub:octo?secret=\(Self.secret)&issuer=GitHub&algorithm=SHA512&digits=7&period=45"}
                """)
            #expect(response.status == .created)
            let token = try response.decode(TokenResponse.self)
            #expect(token.issuer == "GitHub" && token.account == "octo" && token.name == "gh")
            #expect(token.algorithm == "SHA512" && token.digits == 7 && token.period == 45)
        }
    }

    @Test("The code is the RFC 6238 code of the pinned time, with expires_in and period")
    func code() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_111_111_109))
        try await withTestApp(clock: clock) { test, client in
            let writer = try await test.key([.tokensWrite])
            // RFC 6238's SHA1 seed, as base32.
            let seed = Base32.encode(Array("12345678901234567890".utf8))
            _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "rfc", "secret": "\#(seed)", "digits": 8}"#)
            let key = try await test.key([.tokensCode])
            let response = try await client.send(.get, "/v1/tokens/rfc/code", key: key)
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(try response.decode(CodeResponse.self) == CodeResponse(code: "07081804", expiresIn: 1, period: 30))
            #expect(response.text == #"{"code":"07081804","expires_in":1,"period":30}"#)
        }
    }

    @Test("min_valid waits for the next period when too little time is left")
    func minValid() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_111_111_109))  // 1 s left in its period
        try await withTestApp(clock: clock) { test, client in
            let writer = try await test.key([.tokensWrite])
            let seed = Base32.encode(Array("12345678901234567890".utf8))
            _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "rfc", "secret": "\#(seed)", "digits": 8}"#)
            let key = try await test.key([.tokensCode])
            let waited = try await client.send(.get, "/v1/tokens/rfc/code?min_valid=5", key: key)
            // The clock jumped to 1111111110, where RFC 6238 gives 14050471 (same counter as 1111111111).
            #expect(try waited.decode(CodeResponse.self) == CodeResponse(code: "14050471", expiresIn: 30, period: 30))
            #expect(clock.now() == Date(timeIntervalSince1970: 1_111_111_110))
            // Enough time left: no wait.
            let immediate = try await client.send(.get, "/v1/tokens/rfc/code?min_valid=29", key: key)
            #expect(try immediate.decode(CodeResponse.self).expiresIn == 30)
            #expect(clock.now() == Date(timeIntervalSince1970: 1_111_111_110))

            let tooLarge = try await client.send(.get, "/v1/tokens/rfc/code?min_valid=30", key: key)
            #expect(tooLarge.status == .unprocessableContent)
            #expect(try tooLarge.problem().errors?.first?.field == "min_valid")
            let notNumber = try await client.send(.get, "/v1/tokens/rfc/code?min_valid=soon", key: key)
            #expect(notNumber.status == .badRequest)
            let unknown = try await client.send(.get, "/v1/tokens/rfc/code?minvalid=3", key: key)
            #expect(unknown.status == .badRequest)
            #expect(try unknown.problem().code == "malformed_request")
        }
    }

    @Test("Steam Guard tokens give five characters")
    func steam() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite, .tokensCode])
            let created = try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "steam", "secret": "\#(Self.secret)", "kind": "steam"}"#)
            #expect(created.status == .created)
            #expect(try created.decode(TokenResponse.self).kind == "steam")
            let code = try await client.send(.get, "/v1/tokens/steam/code", key: key).decode(CodeResponse.self)
            let expected = TOTP.code(secret: try Base32.decode(Self.secret), at: test.clock.now(), parameters: .steam)
            #expect(code.code == expected.code)
            #expect(code.code.count == 5)
        }
    }

    @Test("Seed read returns the secret and an importable URI; rotation replaces it")
    func seed() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite, .tokensSeed, .tokensCode])
            _ = try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "s", "issuer": "AWS", "account": "root", "secret": "\#(Self.secret)", "algorithm": "SHA256"}"#)
            let seed = try await client.send(.get, "/v1/tokens/s/seed", key: key)
            #expect(seed.status == .ok)
            #expect(seed.headers[.cacheControl] == "no-store")
            let body = try seed.decode(SeedResponse.self)
            #expect(body.secret == Self.secret)
            let uri = try OTPAuthURI(parsing: body.otpauthURI)
            #expect(uri.issuer == "AWS" && uri.account == "root" && uri.parameters.algorithm == .sha256)

            let newSecret = "MZXW6YTBOI4DAMRXGQ3TQOJQGE"
            let rotated = try await client.send(.post, "/v1/tokens/s/seed", key: key, json: #"{"secret": "\#(newSecret)"}"#)
            #expect(rotated.status == .ok)
            #expect(try rotated.decode(TokenResponse.self).algorithm == "SHA256")  // kept
            #expect(try await client.send(.get, "/v1/tokens/s/seed", key: key).decode(SeedResponse.self).secret == newSecret)
            let code = try await client.send(.get, "/v1/tokens/s/code", key: key).decode(CodeResponse.self)
            let parameters = TOTPParameters(algorithm: .sha256)
            #expect(code.code == TOTP.code(secret: try Base32.decode(newSecret), at: test.clock.now(), parameters: parameters).code)

            let viaURI = try await client.send(.post, "/v1/tokens/s/seed", key: key, json: #"{"otpauth_uri": "otpauth://totp/x?secret=\#(Self.secret)&digits=8"}"#)
            #expect(try viaURI.decode(TokenResponse.self).digits == 8)
        }
    }

    @Test("tokens:read responses never contain the seed or a code")
    func readNeverLeaks() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let reader = try await test.key([.tokensRead])
            let currentCode = TOTP.code(secret: try Base32.decode(Self.secret), at: test.clock.now(), parameters: TOTPParameters()).code
            for path in ["/v1/tokens", "/v1/tokens/s"] {
                let response = try await client.send(.get, path, key: reader)
                #expect(response.status == .ok)
                #expect(!response.text.contains(Self.secret))
                #expect(!response.text.contains(currentCode))
                #expect(!response.text.contains("secret"))
            }
            let code = try await client.send(.get, "/v1/tokens/s/code", key: reader)
            #expect(code.status == .forbidden)
            #expect(try code.problem().requiredScope == "tokens:code")
        }
    }

    @Test("Validation names the field", arguments: [
        (#"{"secret": "JBSWY3DPEHPK3PXP"}"#, "slug"),
        (#"{"slug": "Bad Slug", "secret": "JBSWY3DPEHPK3PXP"}"#, "slug"),
        (#"{"slug": "-x", "secret": "JBSWY3DPEHPK3PXP"}"#, "slug"),
        (#"{"slug": "ok"}"#, "secret"),
        (#"{"slug": "ok", "secret": "JBSWY3DP1HPK3PXP"}"#, "secret"),
        (#"{"slug": "ok", "secret": "JBSWY3DP"}"#, "secret"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "digits": 9}"#, "digits"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "period": 10}"#, "period"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "period": 301}"#, "period"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "algorithm": "MD5"}"#, "algorithm"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "kind": "hotp"}"#, "kind"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "kind": "steam", "digits": 6}"#, "digits"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "otpauth_uri": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}"#, "otpauth_uri"),
        (#"{"slug": "ok", "otpauth_uri": "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP"}"#, "otpauth_uri"),
        (#"{"slug": "ok", "otpauth_uri": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "digits": 8}"#, "digits"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "seed": "x"}"#, "seed"),
        (#"{"slug": "ok", "secret": "JBSWY3DPEHPK3PXP", "name": "\u0007bell"}"#, "name"),
    ])
    func validation(input: (String, String)) async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite, .tokensRead])
            let response = try await client.send(.post, "/v1/tokens", key: key, json: input.0)
            #expect(response.status == .unprocessableContent)
            let problem = try response.problem()
            #expect(problem.code == "validation_failed")
            #expect(problem.errors?.first?.field == input.1)
            // Nothing was created.
            #expect(try await client.send(.get, "/v1/tokens", key: key).decode(ListResponse<TokenResponse>.self).data.isEmpty)
        }
    }

    @Test("A slug taken in the organisation is a conflict")
    func conflict() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite])
            let body = #"{"slug": "dup", "secret": "JBSWY3DPEHPK3PXP"}"#
            #expect(try await client.send(.post, "/v1/tokens", key: key, json: body).status == .created)
            let again = try await client.send(.post, "/v1/tokens", key: key, json: body)
            #expect(again.status == .conflict)
            #expect(try again.problem().code == "conflict")
        }
    }

    @Test("Lists page with an opaque cursor; bad limits and cursors are refused")
    func pagination() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite, .tokensRead])
            for index in 0..<5 {
                _ = try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "t\#(index)", "secret": "JBSWY3DPEHPK3PXP"}"#)
            }
            let first = try await client.send(.get, "/v1/tokens?limit=2", key: key).decode(ListResponse<TokenResponse>.self)
            #expect(first.data.map(\.slug) == ["t0", "t1"])
            let cursor = try #require(first.nextCursor)
            #expect(!cursor.contains("t1"))
            let second = try await client.send(.get, "/v1/tokens?limit=3&cursor=\(cursor)", key: key).decode(ListResponse<TokenResponse>.self)
            #expect(second.data.map(\.slug) == ["t2", "t3", "t4"])
            #expect(second.nextCursor == nil)
            #expect(try await client.send(.get, "/v1/tokens?limit=0", key: key).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/tokens?limit=201", key: key).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/tokens?limit=ten", key: key).status == .badRequest)
            #expect(try await client.send(.get, "/v1/tokens?cursor=garbage!", key: key).status == .badRequest)
        }
    }
}
