import Crypto
import Foundation

/// What a dashboard form shows once after it redirects (post, redirect, get): a secret that must be seen once, such as
/// a new API key, or the notice of what the change did. The form's answer is a redirect that sets a short-lived cookie holding the text sealed with AES-GCM
/// under a key derived from the master key (any server of the deployment opens it), bound to the session (the
/// associated data) and to two minutes; the page it redirects to shows the text and clears the cookie. A reload then
/// repeats neither the change nor the secret; nothing is stored server-side.
public struct PageFlash: Sendable {
    private let key: SymmetricKey
    /// How long a sealed text may wait for its page.
    public static let lifetime: TimeInterval = 120

    /// What a sealed text is for: each opens only as what it was sealed as (a notice never shows as a secret).
    public enum Purpose: String, Sendable {
        case secret, notice
    }

    public init(master: MasterKey) {
        self.key = master.pageFlashKey
    }

    private static func associatedData(_ purpose: Purpose, _ sessionID: String) -> [UInt8] {
        Array("kaito-page-flash\n\(purpose.rawValue)\n\(sessionID)".utf8)
    }

    /// `text` sealed as `purpose` for `sessionID` at `now`: base64url of nonce, ciphertext and tag.
    public func seal(_ text: String, as purpose: Purpose = .secret, sessionID: String, at now: Date) throws -> String {
        let expiry = Int64(now.timeIntervalSince1970 + Self.lifetime)
        let box = try AES.GCM.seal(Array("\(expiry)\n\(text)".utf8), using: key, authenticating: Self.associatedData(purpose, sessionID))
        guard let combined = box.combined else { throw KaitoError(.unavailable, "The page could not seal its notice.") }
        return Base64URL.encode(combined)
    }

    /// The text of `sealed` if it was sealed as `purpose` for `sessionID` and has not expired at `now`; nil otherwise.
    public func open(_ sealed: String, as purpose: Purpose = .secret, sessionID: String, at now: Date) -> String? {
        guard let data = Base64URL.decode(sealed), let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: key, authenticating: Self.associatedData(purpose, sessionID)),
              let text = String(bytes: plain, encoding: .utf8), let newline = text.firstIndex(of: "\n"),
              let expiry = Int64(text[..<newline]), expiry > Int64(now.timeIntervalSince1970) else { return nil }
        return String(text[text.index(after: newline)...])
    }
}
