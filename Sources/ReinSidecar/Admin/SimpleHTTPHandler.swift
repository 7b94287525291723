import NIOCore
import NIOHTTP1

/// A tiny request/response server for the admin and credentials listeners:
/// bodies are ignored, answers are small and computed synchronously.
final class SimpleHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Response {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
        var extraHeaders: [(String, String)] = []
    }

    let route: @Sendable (HTTPRequestHead, String?) -> Response
    private var head: HTTPRequestHead?

    init(route: @escaping @Sendable (HTTPRequestHead, String?) -> Response) {
        self.route = route
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let response = route(head, context.channel.remoteAddress?.ipAddress)
            var headers = HTTPHeaders([("Content-Type", response.contentType), ("Content-Length", String(response.body.count)),
                                       ("Cache-Control", "no-store")])
            for (n, v) in response.extraHeaders { headers.add(name: n, value: v) }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
