import Crypto
import Foundation

/// What ties the tokens page's refreshes to the audited view that showed the tokens: the page gets a ticket naming
/// its session and the slugs it showed (each read, and audited, as the page was built), signed with a key derived
/// from the master key (every server of a deployment checks it alike). `GET /tokens/codes` serves the ticket's
/// slugs to the ticket's session only; a session cookie alone (a stolen one, say) reads no code without a page view,
/// and every page view is in the audit log. A ticket lasts as long as a session can (12 hours); the session's idle
/// timeout, which refreshes do not extend, usually ends it first.
public struct PageViewTicket: Sendable {
    private let key: SymmetricKey

    public init(master: MasterKey) {
        self.key = master.pageViewKey
    }

    /// A ticket for `slugs`, shown at `now` to `sessionID`: `<expiry>.<signature>` (Unix seconds, base64url).
    public func issue(sessionID: String, slugs: [String], at now: Date) -> String {
        let expiry = Int64(now.timeIntervalSince1970) + Int64(SignInService.sessionLifetime)
        return "\(expiry)." + signature(sessionID: sessionID, slugs: slugs, expiry: expiry)
    }

    /// Whether `ticket` was issued to `sessionID` for exactly `slugs` (in any order) and has not expired at `now`.
    public func admits(_ ticket: String, sessionID: String, slugs: [String], at now: Date) -> Bool {
        let parts = ticket.split(separator: ".", maxSplits: 1)
        // One spelling of the expiry, and no slug that could join two others (the message separates them by lines).
        guard parts.count == 2, let expiry = Int64(parts[0]), String(expiry) == parts[0], expiry > Int64(now.timeIntervalSince1970),
              !slugs.contains(where: { $0.contains("\n") }) else { return false }
        return SignInService.equal(String(parts[1]), signature(sessionID: sessionID, slugs: slugs, expiry: expiry))
    }

    private func signature(sessionID: String, slugs: [String], expiry: Int64) -> String {
        let message = "kaito-page-view\n\(sessionID)\n\(expiry)\n" + Set(slugs).sorted().joined(separator: "\n")
        let mac = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key)
        return Base64URL.encode(Data(mac))
    }
}
