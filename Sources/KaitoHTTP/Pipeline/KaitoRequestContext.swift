import Hummingbird
import NIOCore

/// The per-request context: the peer's socket address (the input of IP allow-lists), the request id, and the
/// encoder every JSON answer goes through.
public struct KaitoRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The `X-Request-Id` of this request, set by `RequestIDMiddleware` before anything else runs.
    public var requestID: String = ""
    /// The query parameters, checked against those the route declares (`APIRouter`) before its handler runs.
    var query = QueryParameters()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// How JSON answers are written (sorted keys: the same value, the same bytes).
    public var responseEncoder: KaitoJSONEncoder { KaitoJSONEncoder() }

    /// Bodies are limited by `RequestBody` to the API's own limit; this is only Hummingbird's outer bound.
    public var maxUploadSize: Int { RequestBody.limit }
}
