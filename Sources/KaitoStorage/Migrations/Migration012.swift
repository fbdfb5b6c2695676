import SQLKit

/// SMS bodies sealed like seeds: a message's body (and so the code found in it) is stored only in `sealed_body`,
/// under the organisation's data key. Rows from before keep their plaintext until the server's first start seals
/// them (`SMSService.sealStoredPlaintext`), which also empties `body` and `code`.
enum Migration012 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.alter(table: "sms_messages").column("sealed_body", type: .blob).run()
        try await db.alter(table: "sms_outbound").column("sealed_body", type: .blob).run()
    }
}
