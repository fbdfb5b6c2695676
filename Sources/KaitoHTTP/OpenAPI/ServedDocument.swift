import CompressNIO
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import NIOConcurrencyHelpers
import NIOCore

/// A JSON document served as it is cached: built once at start-up, with a strong `ETag` per content coding (the gzip
/// copy's ends in `-gz`; a `GET` with a matching `If-None-Match` is 304) and a gzip copy for clients that accept it
/// (`Accept-Encoding`). The OpenAPI document (`GET /v1/openapi.json`) is one.
struct ServedDocument: Sendable {
    let body: ByteBuffer
    let gzipped: ByteBuffer
    let etag: String

    init(json: [UInt8]) throws {
        body = ByteBuffer(bytes: json)
        var input = body
        gzipped = try input.compress(with: .gzip())
        etag = "\"" + SHA256.hash(data: json).prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
    }

    /// The answer to `request`: 304, or the document (gzipped when accepted).
    func response(to request: Request) -> Response {
        let gzip = Self.acceptsGzip(request.headers[values: .acceptEncoding])
        // Each coding its own tag (RFC 9110): a cache never answers a client that did not ask for gzip with it.
        let tag = gzip ? String(etag.dropLast()) + "-gz\"" : etag
        var headers: HTTPFields = [.eTag: tag, .cacheControl: "no-cache", .vary: "Accept-Encoding"]
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { candidate in
            let candidate = candidate.trimmingCharacters(in: .whitespaces)
            return candidate == tag || candidate == "W/" + tag || candidate == "*"
        }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json"
        guard gzip else { return Response(status: .ok, headers: headers, body: .init(byteBuffer: body)) }
        headers[.contentEncoding] = "gzip"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: gzipped))
    }

    /// Whether `Accept-Encoding` admits gzip: named with a quality above 0, or, when not named, `*` with one.
    static func acceptsGzip(_ values: [String]) -> Bool {
        var named: Double?, any: Double?
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard let coding = parts.first else { continue }
                let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
                if coding == "gzip" || coding == "x-gzip" { named = max(named ?? 0, quality) } else if coding == "*" { any = quality }
            }
        }
        return (named ?? any ?? 0) > 0
    }

    /// Where a route finds its document once the application is built (filled once, before the server starts).
    final class Slot: Sendable {
        private let value = NIOLockedValueBox<ServedDocument?>(nil)

        func fill(_ document: ServedDocument?) { value.withLockedValue { $0 = document } }

        func response(to request: Request) throws -> Response {
            guard let document = value.withLockedValue({ $0 }) else { throw KaitoError(.unavailable, "The OpenAPI document could not be built.") }
            return document.response(to: request)
        }
    }
}
