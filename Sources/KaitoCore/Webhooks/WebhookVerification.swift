import Foundation

/// A received delivery as a receiver's script hands it over: its Standard Webhooks headers and its body exactly as
/// received.
public struct ReceivedWebhook: Sendable, Equatable {
    public var id: String
    public var timestamp: Int64
    public var signature: String
    public var body: [UInt8]

    public init(id: String, timestamp: Int64, signature: String, body: [UInt8]) {
        self.id = id
        self.timestamp = timestamp
        self.signature = signature
        self.body = body
    }

    /// Parses an HTTP message: an optional request or status line, `Name: value` header lines, an empty line and
    /// the body (what `curl -i`, a proxy's dump or a receiver's log of the raw request gives).
    /// - Throws: `validation` naming the missing or malformed header.
    public init(message: [UInt8]) throws {
        var headers: [String: String] = [:]
        var index = 0
        var lineNumber = 0
        while index < message.count {
            let end = message[index...].firstIndex(of: UInt8(ascii: "\n")) ?? message.count
            var line = message[index..<end]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            index = min(end + 1, message.count)
            if line.isEmpty { break }
            let text = String(decoding: line, as: UTF8.self)
            defer { lineNumber += 1 }
            if lineNumber == 0, text.hasPrefix("HTTP/") || text.range(of: #"^[A-Z]+ \S+ HTTP/"#, options: .regularExpression) != nil {
                continue
            }
            guard let colon = text.firstIndex(of: ":") else {
                throw KaitoError.validation("headers", "line \(lineNumber + 1) is not a 'Name: value' header")
            }
            headers[text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let id = headers["webhook-id"], !id.isEmpty else { throw KaitoError.validation("webhook-id", "is missing") }
        guard let timestamp = headers["webhook-timestamp"].flatMap({ Int64($0) }) else {
            throw KaitoError.validation("webhook-timestamp", "is missing or not whole seconds")
        }
        guard let signature = headers["webhook-signature"], !signature.isEmpty else {
            throw KaitoError.validation("webhook-signature", "is missing")
        }
        self.init(id: id, timestamp: timestamp, signature: signature, body: Array(message[index...]))
    }

    public enum Verdict: Equatable, Sendable {
        case valid
        case badSignature
        case outsideTolerance(seconds: Int64)
    }

    /// Checks the signature against each secret (any one valid signature under any one secret passes, as during a
    /// rotation) and the timestamp against `now` within `tolerance` seconds either way, as Standard Webhooks
    /// libraries do. A body that fails only because of one trailing newline added by a shell is accepted: the
    /// signature still covers every byte that the receiver acts on.
    public func verify(secrets: [WebhookSecret], now: Date, tolerance: Int64) -> (Verdict, body: [UInt8]) {
        var bodies = [body]
        if body.last == UInt8(ascii: "\n") {
            var trimmed = body.dropLast()
            if trimmed.last == UInt8(ascii: "\r") { trimmed = trimmed.dropLast() }
            bodies.append(Array(trimmed))
        }
        guard let signed = bodies.first(where: { candidate in
            secrets.contains { $0.verify(header: signature, id: id, timestamp: timestamp, body: candidate) }
        }) else { return (.badSignature, body) }
        // A hostile timestamp (Int64.min) overflows the difference: that is outside any tolerance, never a trap.
        let (skew, overflow) = Timestamp.unixSeconds(now).subtractingReportingOverflow(timestamp)
        if tolerance > 0, overflow || skew.magnitude > tolerance.magnitude {
            return (.outsideTolerance(seconds: overflow ? (timestamp > 0 ? .min : .max) : skew), signed)
        }
        return (.valid, signed)
    }
}
