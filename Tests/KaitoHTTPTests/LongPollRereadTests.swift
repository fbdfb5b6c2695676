import Foundation
import KaitoHTTP
import KaitoTestSupport
import Testing
@testable import KaitoCore

@Suite("The SMS long-poll's periodic re-read")
struct LongPollRereadTests {
    /// Stores a message for `inbox` as a provider's callback would, but without the notification that wakes
    /// long-polls: what a server sees when its LISTEN connection missed the other server's NOTIFY.
    static func storeQuietly(_ body: String, in inbox: Inbox, _ runtime: Runtime) async throws -> SMSMessage {
        let now = runtime.clock.now()
        let message = SMSMessage(
            id: SMSService.messageIDs.make(prefix: SMSMessage.idPrefix, at: now, random: runtime.random), organizationID: inbox.organizationID,
            inboxID: inbox.id, from: "+15550001111", to: inbox.phoneNumber, body: body, receivedAt: now,
            code: CodeExtractor.extract(from: body), providerMessageID: "quiet-\(UUID().uuidString)")
        let inserted = try await runtime.storage.write { session in
            try await session.sms.insertMessage(try await runtime.sms.sealed(message, session), provider: .simulator)
        }
        #expect(inserted)
        return message
    }

    @Test("A message whose notification never came is still answered, by the next re-read, well before the timeout")
    func missedNotification() async throws {
        try await withTestRuntime { test in
            // The test's runtime re-reads hourly; this one over the same database every 200 ms.
            let rereading = Runtime(
                storage: test.runtime.storage, keyring: test.runtime.keyring, clock: test.clock,
                passwordHasher: test.dependencies.passwordHasher, longPollReread: .milliseconds(200))
            #expect(rereading.sms.rereadInterval == .milliseconds(200) && test.runtime.sms.rereadInterval == TestRuntime.longPollReread)
            let caller = try await rereading.keys.authenticate(authorization: "Bearer \(test.adminKey)")
            let inbox = try await rereading.sms.createInbox(phoneNumber: "+15552220000", label: nil, provider: "simulator", by: caller)
            let started = ContinuousClock.now
            let waiting = Task { try await rereading.sms.wait(inboxID: inbox.id, after: nil, timeout: .seconds(60), by: caller) }
            try await waitUntil("the long-poll waits") { test.runtime.storage.changes.subscriberCount(topic: SMSService.topic(inboxID: inbox.id)) == 1 }
            let stored = try await Self.storeQuietly("Your code is 482913", in: inbox, rereading)
            let found = try await waiting.value
            #expect(found?.id == stored.id && found?.code == "482913" && found?.body == "Your code is 482913")
            // No notification wakes it: only a re-read ends the wait before its 60-second timeout.
            #expect(ContinuousClock.now - started < .seconds(60))
        }
    }
}
