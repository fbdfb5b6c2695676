import Foundation
import KaitoCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One webhook attempt on the wire: an HTTP/1.1 `POST` to the address the policy checked (never a second lookup),
/// over TLS for `https` with the certificate checked against the URL's host, reading at most `maximumBodyBytes` of
/// the answer, then closing. Whatever the receiver sends back (a status line no client library expects, such as
/// `099`, a head that never ends, garbage) is an answer or a failure of this attempt, never a crash of the server:
/// AsyncHTTPClient trapped on a `0xx` status, which is why this does not use it.
struct WebhookTransport: Sendable {
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
    }

    enum Failure: Error, CustomStringConvertible {
        case noHead
        case badURL

        var description: String {
            switch self {
            case .noHead: return "the receiver closed the connection without an answer"
            case .badURL: return "the endpoint URL is invalid"
            }
        }
    }

    /// The most bytes of an answer's body that are read (the body is not used).
    static let maximumBodyBytes = 1024

    let connectTimeout: TimeAmount

    /// Sends `body` to `url` at `address`; returns the receiver's status and headers.
    /// - Throws: `Failure`, or the connection's, TLS's or the HTTP parser's error.
    func post(url: URLComponents, address: IPAddress, headers: [(String, String)], body: [UInt8]) async throws -> Answer {
        guard let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else { throw Failure.badURL }
        let secure = scheme == "https"
        let port = url.port ?? (secure ? 443 : 80)
        var target = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        if let query = url.percentEncodedQuery { target += "?" + query }
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        // SNI and the certificate's name are the URL's host; an IP literal is checked as an address instead.
        let serverName = IPAddress(host) == nil ? host : nil
        let tls = secure ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil

        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .connect(host: address.description, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target)
            head.headers.add(name: "Host", value: hostHeader)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.add(name: "Content-Length", value: String(body.count))
            head.headers.add(name: "Connection", value: "close")
            // A receiver may answer and close before it has read the request (its answer is still an answer): a
            // failed write ends the sending, and what the receiver sent is read all the same.
            var writeFailure: (any Error)?
            do {
                try await outbound.write(.head(head))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                try await outbound.write(.end(nil))
            } catch {
                writeFailure = error
            }
            var answer: Answer?
            var read = 0
            reading: for try await part in inbound {
                switch part {
                case .head(let response):
                    // A 1xx is not the answer; anything else (a 0xx included) is.
                    if (100..<200).contains(response.status.code), answer == nil { continue }
                    if answer == nil { answer = Answer(status: Int(response.status.code), headers: response.headers) }
                case .body(let chunk):
                    read += chunk.readableBytes
                    if read >= Self.maximumBodyBytes, answer != nil { break reading }
                case .end:
                    if answer != nil { break reading }
                }
            }
            guard let answer else { throw writeFailure ?? Failure.noHead }
            return answer
        }
    }
}
