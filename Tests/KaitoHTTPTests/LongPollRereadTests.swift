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

    @Test("A message whose notification never came: a long-poll that has read and waits finds it at its next re-read")
    func missedNotification() async throws {
        try await withTestRuntime { test in
            // The test's runtime re-reads hourly; this one over the same database every 200 ms.
            let rereading = Runtime(
                storage: test.runtime.storage, keyring: test.runtime.keyring, clock: test.clock,
                passwordHasher: test.dependencies.passwordHasher, longPollReread: .milliseconds(200))
            #expect(rereading.sms.rereadInterval == .milliseconds(200) && test.runtime.sms.rereadInterval == TestRuntime.longPollReread)
            let caller = try await rereading.keys.authenticate(authorization: "Bearer \(test.adminKey)")
            let inbox = try await rereading.sms.createInbox(phoneNumber: "+15552220000", label: nil, provider: "simulator", by: caller)
            let topic = SMSService.topic(inboxID: inbox.id)
            let parked = { test.runtime.storage.changes.waiterCount(topic: topic) == 1 }

            // Storing quietly sends no notification: a subscriber of the inbox is not woken.
            let listener = test.runtime.storage.changes.subscribe(topic)
            let quiet = try await Self.storeQuietly("Your code is 111111", in: inbox, rereading)
            #expect(await listener.wait(timeout: .seconds(1)) == false)
            listener.cancel()

            // A poll that has read and waits finds the next quiet message at its next re-read.
            let started = ContinuousClock.now
            async let found = rereading.sms.wait(inboxID: inbox.id, after: quiet.id, timeout: .seconds(60), by: caller)
            try await waitUntil("the re-reading poll has read and waits", parked)
            let stored = try await Self.storeQuietly("Your code is 482913", in: inbox, rereading)
            let message = try await found
            #expect(message?.id == stored.id && message?.code == "482913" && message?.body == "Your code is 482913")
            // Found by a re-read, far below the 60-second timeout (whose last read would have found it too, but only
            // then): a few re-reads of 200 ms.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }
}
