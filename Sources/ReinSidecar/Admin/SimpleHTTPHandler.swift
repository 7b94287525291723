import NIOCore
import NIOHTTP1

/// A tiny request/response server for the admin and credentials listeners:
/// answers are small and computed synchronously, except for the optional
/// `api` (a standalone sidecar's holds API under `/v1/`, the credentials
/// endpoint everywhere), which gets the body (at most ``maxBody`` bytes) and
/// answers asynchronously, off the event loop.
final class SimpleHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Response {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
        var extraHeaders: [(String, String)] = []
    }

    typealias API = @Sendable (HTTPRequestHead, [UInt8]) async -> Response?

    let route: @Sendable (HTTPRequestHead, String?) -> Response
    let api: API?
    /// The paths `api` answers (the rest go to `route`).
    let apiPrefix: String
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    static let maxBody = 64 << 10

    init(route: @escaping @Sendable (HTTPRequestHead, String?) -> Response, api: API? = nil, apiPrefix: String = "/v1/") {
        self.route = route
        self.api = api
        self.apiPrefix = apiPrefix
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
        case .body(let buffer):
            guard api != nil, !tooLarge else { return }
            if body.count + buffer.readableBytes > Self.maxBody {
                tooLarge = true
                body = []
            } else {
                body.append(contentsOf: buffer.readableBytesView)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if let api, head.uri.hasPrefix(apiPrefix) {
                if tooLarge {
                    write(Response(status: .payloadTooLarge, contentType: "application/json",
                                   body: Array(#"{"code":"TooLarge","message":"the body is larger than 64 KiB"}"#.utf8)), head: head, context: context)
                    return
                }
                let body = self.body
                self.body = []
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let loop = context.eventLoop
                let address = context.channel.remoteAddress?.ipAddress
                Task {
                    let answer = await api(head, body)
                    loop.execute {
                        let (handler, context) = bound.value
                        handler.write(answer ?? handler.route(head, address), head: head, context: context)
                    }
                }
                return
            }
            write(route(head, context.channel.remoteAddress?.ipAddress), head: head, context: context)
        }
    }

    private func write(_ response: Response, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Content-Type", response.contentType), ("Content-Length", String(response.body.count)),
                                   ("Cache-Control", "no-store")])
        for (n, v) in response.extraHeaders { headers.add(name: n, value: v) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
