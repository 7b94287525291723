import Logging
import NIOCore
import NIOHTTP1

/// Reads one HTTP/1.1 request at a time (the pipeline handler in front of
/// it orders pipelined requests), hands the complete request to the router
/// as a task, and writes the answer back on the event loop.
///
/// Why whole bodies: every route takes a bounded body (batches up to the
/// configured cap, everything else small) and needs all of it before it can
/// act, so streaming would only move the buffering elsewhere. A body over
/// the cap is refused with 413 as soon as its size is known.
final class CollectorHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: CollectorRouter
    private let services: CollectorServices
    private let maxBody: Int
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// A 413 went out for this request: ignore the rest of it.
    private var refused = false
    /// A request is with the router (a long-poll may be quiet for up to 60 s).
    private var waitingForAnswer = false

    init(router: CollectorRouter, services: CollectorServices, maxBody: Int) {
        self.router = router
        self.services = services
        self.maxBody = maxBody
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            refused = false
            if let length = h.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBody {
                refuseTooLarge(context: context, version: h.version)
                return
            }
            if h.headers[canonicalForm: "Expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            guard !refused, let h = head else { return }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if body!.readableBytes > maxBody { refuseTooLarge(context: context, version: h.version) }
        case .end:
            guard !refused, let h = head else { return }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let request = CollectorRequest(method: h.method, uri: h.uri, headers: h.headers, body: bytes,
                                           remoteAddress: context.channel.remoteAddress?.ipAddress)
            let router = self.router
            let services = self.services
            let promise = context.eventLoop.makePromise(of: CollectorResponse.self)
            waitingForAnswer = true
            promise.completeWithTask {
                services.inFlight.add(1, ordering: .relaxed)
                defer { services.inFlight.subtract(1, ordering: .relaxed) }
                return await router.handle(request, services: services)
            }
            promise.futureResult.assumeIsolated().whenSuccess { response in
                self.waitingForAnswer = false
                self.write(response, for: h, context: context)
            }
        }
    }

    private func write(_ response: CollectorResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive && !services.recordsChanged.isClosed
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        var head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        head.headers.remove(name: "Transfer-Encoding")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD, !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext, version: HTTPVersion) {
        refused = true
        body = nil
        let response = CollectorResponse.tooLarge("the request body is larger than \(maxBody) bytes")
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, head == nil, !waitingForAnswer {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        services.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
