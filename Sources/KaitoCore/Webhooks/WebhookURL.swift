import Foundation

/// A webhook endpoint's URL, checked and normalised: an absolute `http(s)` URL of RFC 3986 characters only, without
/// credentials or fragment, scheme and host lowercased and the default port dropped (`HTTPS://Hooks.Example:443/h`
/// is `https://hooks.example/h`). Its text is what is stored and what every delivery requests, byte for byte.
public struct WebhookURL: Sendable, Equatable, CustomStringConvertible {
    /// The normalised URL.
    public let description: String
    /// The host as a resolver takes it: a name, an IPv4 address, or an IPv6 address in brackets.
    public let host: String

    /// The longest URL accepted, in bytes.
    public static let maximumLength = 2048

    /// The characters RFC 3986 allows in a URL, quotes excluded (unreserved, reserved but `'`, and `%`).
    static let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&()*+,;=%".utf8)
    static let hostCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789-._".utf8)
    static let hexDigits = Set("0123456789abcdefABCDEF".utf8)

    /// Checks and normalises `text`.
    /// - Throws: `validation_failed` naming `url`, saying what is wrong.
    public init(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength else {
            throw KaitoError.validation("url", "must be an absolute https:// (or http://) URL of at most \(Self.maximumLength) bytes")
        }
        if bytes.contains(where: { $0 < 0x21 || $0 == 0x7F }) {
            throw KaitoError.validation("url", "must not contain spaces or control characters (percent-encode them)")
        }
        if bytes.contains(where: { $0 >= 0x80 }) {
            throw KaitoError.validation("url", "must be ASCII: write the host in its xn-- (IDNA) form and percent-encode the path")
        }
        if let bad = bytes.first(where: { !Self.allowed.contains($0) }) {
            throw KaitoError.validation("url", "must not contain \(String(UnicodeScalar(bad))) (percent-encode it)")
        }
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "%") {
            guard index + 2 < bytes.count, Self.hexDigits.contains(bytes[index + 1]), Self.hexDigits.contains(bytes[index + 2]) else {
                throw KaitoError.validation("url", "has a % that is not followed by two hexadecimal digits")
            }
        }
        guard !bytes.contains(UInt8(ascii: "#")) else { throw KaitoError.validation("url", "must not contain a fragment (#)") }

        let schemeEnd = text.range(of: "://")
        let scheme = schemeEnd.map { text[..<$0.lowerBound].lowercased() }
        guard let schemeEnd, let scheme, scheme == "https" || scheme == "http" else {
            throw KaitoError.validation("url", "must be an absolute https:// (or http://) URL")
        }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let pathAndQuery = rest[authorityEnd...]
        guard !authority.contains("@") else { throw KaitoError.validation("url", "must not contain credentials") }

        var host: Substring
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw KaitoError.validation("url", "has an IPv6 address without its ]") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw KaitoError.validation("url", "has text after the IPv6 address") }
                port = after.dropFirst()
            }
            guard IPAddress(String(host.dropFirst().dropLast())) != nil, !host.contains("%") else {
                throw KaitoError.validation("url", "has an invalid IPv6 address (zone ids are refused)")
            }
        } else {
            let colon = authority.firstIndex(of: ":")
            host = authority[..<(colon ?? authority.endIndex)]
            port = colon.map { authority[authority.index(after: $0)...] }
        }
        let lowered = host.lowercased()
        guard !lowered.isEmpty, lowered.utf8.count <= 255,
              lowered.hasPrefix("[") || lowered.utf8.allSatisfy({ Self.hostCharacters.contains($0) }) else {
            throw KaitoError.validation("url", "must name a host: letters, digits, -, _ and . (an IDN in its xn-- form), or an IP address")
        }
        var portText = ""
        if let port {
            guard !port.isEmpty, port.count <= 5, port.utf8.allSatisfy({ (48...57).contains($0) }), let number = Int(port), (1...65_535).contains(number) else {
                throw KaitoError.validation("url", "has an invalid port (1-65535)")
            }
            if number != (scheme == "https" ? 443 : 80) { portText = ":\(number)" }
        }
        guard !pathAndQuery.contains("["), !pathAndQuery.contains("]") else {
            throw KaitoError.validation("url", "must not contain [ or ] outside an IPv6 host (percent-encode them)")
        }
        self.host = lowered
        self.description = scheme + "://" + lowered + portText + (pathAndQuery.hasPrefix("/") ? "" : "/") + pathAndQuery
    }
}
