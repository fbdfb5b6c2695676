import Foundation
import KaitoCore
import KaitoTestSupport
import Testing

@Suite("Seeds at rest")
struct SeedAtRestTests {
    @Test("The SQLite database files contain neither the base32 secret nor its raw bytes")
    func seedNotInDatabaseFile() async throws {
        try await withTestRuntime(backend: .sqlite) { test in
            let secretBytes = SystemRandomSource().bytes(20)
            let base32 = Base32.encode(secretBytes)
            let caller = try await test.runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite, .tokensSeed])))
            _ = try await test.runtime.tokens.create(TokenDraft(slug: "aws-prod", secret: base32), by: caller)
            // Rotation writes a second seed; both must be absent.
            let rotated = SystemRandomSource().bytes(20)
            _ = try await test.runtime.tokens.rotateSeed(slug: "aws-prod", TokenDraft(secret: Base32.encode(rotated)), by: caller)

            // The seed is really stored: it comes back through the seed endpoint's service.
            #expect(try await test.runtime.tokens.seed(slug: "aws-prod", by: caller).secret == rotated)

            let bytes = try test.directory.fileBytes()
            #expect(bytes.count > 4096)
            // Positive control: the token's slug is stored in clear, so the search does find stored text.
            let slugFound = bytes.contains(subsequence: Array("aws-prod".utf8))
            #expect(slugFound)
            for secret in [secretBytes, rotated] {
                let rawFound = bytes.contains(subsequence: secret)
                let base32Found = bytes.contains(subsequence: Array(Base32.encode(secret).utf8))
                let lowercaseFound = bytes.contains(subsequence: Array(Base32.encode(secret).lowercased().utf8))
                #expect(!rawFound)
                #expect(!base32Found)
                #expect(!lowercaseFound)
            }
            // The API keys are not there either, only their HMACs.
            let keyFound = bytes.contains(subsequence: Array(test.adminKey.dropFirst(9).prefix(30).utf8))
            #expect(!keyFound)
        }
    }

    @Test("A sealed seed copied onto another token's row fails to decrypt")
    func copiedRowFails() async throws {
        try await withTestRuntime { test in
            let caller = try await test.runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite, .tokensCode])))
            _ = try await test.runtime.tokens.create(TokenDraft(slug: "one", secret: "JBSWY3DPEHPK3PXP"), by: caller)
            _ = try await test.runtime.tokens.create(TokenDraft(slug: "two", secret: "MZXW6YTBOI4DAMRX"), by: caller)
            try await test.runtime.storage.write { session in
                let one = try #require(try await session.tokens.find(slug: "one", organizationID: caller.organizationID))
                var two = try #require(try await session.tokens.find(slug: "two", organizationID: caller.organizationID))
                two.sealedSeed = one.sealedSeed
                try await session.tokens.update(two)
            }
            await #expect(throws: Envelope.Error.authenticationFailed) {
                _ = try await test.runtime.tokens.code(slug: "two", minValid: nil, by: caller)
            }
            #expect(try await test.runtime.tokens.code(slug: "one", minValid: nil, by: caller).code.count == 6)
        }
    }
}
