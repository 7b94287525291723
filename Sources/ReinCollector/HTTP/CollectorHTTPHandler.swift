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
/// its route's cap is refused with 413 as soon as its size is known, and a
/// request without a valid token is answered (401, audited) from its head,
/// its body never buffered: memory goes only to callers the collector knows.
/// So is a known token without the route's role. Time is bounded too: a
/// request head must be complete within ``headTimeout`` of the connection
/// opening or the previous answer, and a body within its own time, so a
/// client trickling bytes cannot hold a connection (slowloris); and all
/// bodies being read at once stay under a budget (`limits:` and
/// `maxBufferedBodyBytes` in ``CollectorConfiguration``).
final class CollectorHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: CollectorRouter
    private let services: CollectorServices
    /// The cap of the request being read: batches, or any other route.
    private var maxBody: Int
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// An early answer (401 from the head, 413) went out or is on its way:
    /// the rest of this request's body is read and dropped, up to
    /// ``lingerBytes``, and then the connection closes. Why not close at
    /// once: closing with unread bytes makes the kernel reset the
    /// connection, and a client still uploading may never read the answer.
    private var refused = false
    private var discarded = 0
    private var requestEnded = false
    private var answerSent = false
    static let lingerBytes = 16 << 20
    /// A request is with the router (a long-poll may be quiet for up to 60 s).
    private var waitingForAnswer = false
    /// Body bytes this connection holds against the shared budget, for `bodyToken`.
    private var held = 0
    /// The token whose request body is being read (its share of the budget).
    private var bodyToken = ""
    private var deadline: Scheduled<Void>?
    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount

    init(router: CollectorRouter, services: CollectorServices) {
        self.router = router
        self.services = services
        maxBody = services.configuration.maxRequestBytes
        headTimeout = .seconds(services.configuration.headerTimeout)
        bodyTimeout = .seconds(services.configuration.bodyTimeout)
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(headTimeout, context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        releaseHeld()
    }

    /// Closes the connection unless disarmed within `timeout` (a head or a
    /// body that does not arrive in time).
    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        deadline?.cancel()
        let loop = context.eventLoop
        deadline = loop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, !self.waitingForAnswer else { return }
            self.services.logger.debug("closing a connection that did not send its request in time")
            context.close(promise: nil)
        }
    }

    private func releaseHeld() {
        services.bodyBudget.release(held, token: bodyToken)
        held = 0
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            deadline?.cancel()
            deadline = nil
            head = h
            body = nil
            refused = false
            discarded = 0
            requestEnded = false
            answerSent = false
            let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
            maxBody = h.method == .POST && path == "/v1/audit/batches"
                ? services.configuration.maxBatchBytes : services.configuration.maxRequestBytes
            let length = h.headers.first(name: "Content-Length").flatMap(Int.init)
            let hasBody = (length ?? 0) > 0 || h.headers[canonicalForm: "Transfer-Encoding"].contains { $0.lowercased() == "chunked" }
            if hasBody, case .authenticated(let principal) = services.authenticator.authenticate(authorization: h.headers.first(name: "Authorization")),
               router.admitsBody(method: h.method, path: path, principal: principal) {
                // A known caller with the route's role: read the body, within the time allowed.
                bodyToken = principal.name
                arm(bodyTimeout, context: context)
            } else if hasBody {
                // No valid token, or no role for the route (or no route): the
                // router answers from the head alone; the body is not read.
                refused = true
                arm(bodyTimeout, context: context)  // nor lingered over for ever
                dispatch(CollectorRequest(method: h.method, uri: h.uri, headers: h.headers, body: [],
                                          remoteAddress: context.channel.remoteAddress?.ipAddress),
                         head: h, closeAfter: true, context: context)
                return
            }
            if let length, length > maxBody {
                refuseTooLarge(context: context, version: h.version)
                return
            }
            if h.headers[canonicalForm: "Expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            if refused {
                discarded += chunk.readableBytes
                if discarded > Self.lingerBytes { context.close(promise: nil) }
                return
            }
            guard let h = head else { return }
            let size = chunk.readableBytes
            if let refusal = services.bodyBudget.reserve(size, token: bodyToken) {
                refuseBusy(refusal, context: context, version: h.version)
                return
            }
            held += size
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if body!.readableBytes > maxBody { refuseTooLarge(context: context, version: h.version) }
        case .end:
            if refused {
                requestEnded = true
                if answerSent { context.close(promise: nil) }
                return
            }
            guard let h = head else { return }
            head = nil
            deadline?.cancel()
            deadline = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            releaseHeld()
            let request = CollectorRequest(method: h.method, uri: h.uri, headers: h.headers, body: bytes,
                                           remoteAddress: context.channel.remoteAddress?.ipAddress)
            dispatch(request, head: h, closeAfter: false, context: context)
        }
    }

    /// Hands the request to the router as a task; the answer is written on the loop.
    private func dispatch(_ request: CollectorRequest, head h: HTTPRequestHead, closeAfter: Bool, context: ChannelHandlerContext) {
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
            self.write(response, for: h, close: closeAfter, context: context)
        }
    }

    private func write(_ response: CollectorResponse, for request: HTTPRequestHead, close: Bool = false, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive && !services.recordsChanged.isClosed && !close
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        var responseHead = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        responseHead.headers.remove(name: "Transfer-Encoding")
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if request.method != .HEAD, !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in self.closeWhenDrained(context: context) }
        } else if self.head == nil {
            arm(headTimeout, context: context)  // the next request's head (none pipelined yet)
        }
    }

    /// Closes now, or (after an early answer) once the request's body is
    /// read to its end.
    private func closeWhenDrained(context: ChannelHandlerContext) {
        if refused && !requestEnded {
            answerSent = true
        } else {
            context.close(promise: nil)
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext, version: HTTPVersion) {
        refuseEarly(CollectorResponse.tooLarge("the request body is larger than \(maxBody) bytes"), context: context, version: version)
    }

    /// Too many bodies are being read at once: 503 with Retry-After (a
    /// sidecar keeps its records spooled and tries again).
    private func refuseBusy(_ refusal: BodyBudget.Refusal, context: ChannelHandlerContext, version: HTTPVersion) {
        var response = CollectorResponse.unavailable(refusal == .total
            ? "the collector is reading too many request bodies at once; retry shortly"
            : "token \(bodyToken) already has its share (\(services.bodyBudget.perToken) bytes) of request bodies being read; retry shortly")
        response.headers.append(("Retry-After", "1"))
        refuseEarly(response, context: context, version: version)
    }

    private func refuseEarly(_ response: CollectorResponse, context: ChannelHandlerContext, version: HTTPVersion) {
        // Answered before any route was looked up: counted under a route of its own.
        services.metrics.request(route: "before-routing", method: head?.method.rawValue ?? "?", status: response.status.code)
        refused = true
        body = nil
        releaseHeld()
        arm(bodyTimeout, context: context)
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in self.closeWhenDrained(context: context) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Idle between requests, or lingering after an early answer: close.
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, head == nil || refused, !waitingForAnswer {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        services.logger.debug("connection error", metadata: ["error": "\(Self.describe(error))"])
        context.close(promise: nil)
    }

    /// An error in words without the bytes NIO's decoder errors carry: those
    /// are the client's raw request, `Authorization: Bearer …` included.
    static func describe(_ error: any Error) -> String {
        switch error as? ByteToMessageDecoderError {
        case .dataReceivedInErrorState(let inner, let buffer)?:
            return "\(describe(inner)) (then \(buffer.readableBytes) more bytes)"
        case .leftoverDataWhenDone(let buffer)?:
            return "\(buffer.readableBytes) bytes left over when the connection ended"
        case nil:
            return "\(error)"
        }
    }
}
