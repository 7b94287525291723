import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ReinAudit
import ReinCatalog
import ReinSigV4
import ReinServiceKit
import ReinUpstream

/// Serves one agent connection: each request goes through the
/// ``RequestGate`` and, when allowed, streams to the upstream engine.
///
/// The handler only moves bytes and keeps per-request state; every decision
/// is the gate's. It runs on the channel's event loop; upstream events hop
/// back to it through ``UpstreamBridge``.
final class AgentHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let services: SidecarServices
    /// Set inside a terminated CONNECT tunnel: the name the agent connected to.
    let tunnelHost: String?
    let headGuard: HeadGuardState
    var context: ChannelHandlerContext?
    var state: State = .idle
    /// Set when the connection must close once the current response is written.
    var closeAfterResponse = false
    /// CONNECT handling, provided by the listener (nil: CONNECT is refused).
    let connectHandler: ((ChannelHandlerContext, HTTPRequestHead, AgentHTTPHandler) -> Void)?

    enum State {
        case idle
        /// Reading a body the gate must see before deciding.
        case buffering(Flight, limit: Int, body: [UInt8])
        /// Allowed: waiting for the intent to be durable before anything goes
        /// upstream; body bytes that arrive meanwhile wait in `pending`.
        case recordingIntent(Flight, ForwardPlan, pending: [ByteBuffer])
        /// The request is with the upstream; the body (if any) streams through.
        case forwarding(Flight)
        /// Waiting for a person (holds); the body is not read meanwhile.
        case holding(Flight)
        /// Answered early: the rest of this request's body is ignored and the connection closes.
        case discarding
    }

    init(services: SidecarServices, tunnelHost: String?, headGuard: HeadGuardState,
         connectHandler: ((ChannelHandlerContext, HTTPRequestHead, AgentHTTPHandler) -> Void)? = nil) {
        self.services = services
        self.tunnelHost = tunnelHost
        self.headGuard = headGuard
        self.connectHandler = connectHandler
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandonFlight(reason: "handler removed")
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonFlight(reason: "agent disconnected")
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): receiveHead(head, context: context)
        case .body(let buffer): receiveBody(buffer, context: context)
        case .end: receiveEnd(context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .forwarding(let flight) = state, flight.responsePaused {
            flight.responsePaused = false
            flight.exchange?.resumeResponse()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Inside a tunnel, the TLS name must be the CONNECT target: one name per tunnel.
        if let done = event as? TLSServerHandler.HandshakeCompleted, let tunnelHost, done.serverName != tunnelHost.lowercased() {
            services.logger.notice("TLS name differs from the CONNECT target; closing",
                                   metadata: ["tls.sni": "\(done.serverName)", "tls.connect_host": "\(tunnelHost)"])
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            if case .discarding = state, let parse = error as? HTTPParserError, parse == .invalidEOFState {
                // Answered already (a refusal before the body): the agent hung up
                // instead of sending the rest, which is its right, not malformed HTTP.
                services.logger.debug("agent closed before sending the rest of an answered request's body")
                context.close(promise: nil)
                return
            }
            // Malformed HTTP (both Content-Length and Transfer-Encoding, bad lengths, obs-fold, ...).
            services.logger.notice("rejected malformed HTTP from agent", metadata: ["http.error": "\(error)"])
            if case .idle = state {
                let body = Array("malformed HTTP request: \(error)\n".utf8)
                var headers = HTTPHeaders([("Content-Type", "text/plain"), ("Content-Length", String(body.count)), ("Connection", "close")])
                headers.add(name: "x-rein-error", value: "MalformedHTTP")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
                state = .discarding
                return
            }
        }
        abandonFlight(reason: "\(error)")
        context.close(promise: nil)
    }

    // MARK: - Request

    private func receiveHead(_ http: HTTPRequestHead, context: ChannelHandlerContext) {
        headGuard.headReceived()
        if http.method == .CONNECT {
            guard tunnelHost == nil, let connectHandler else {
                respondPlain(context: context, status: .methodNotAllowed, message: "CONNECT is not allowed here", close: true)
                return
            }
            connectHandler(context, http, self)
            return
        }
        let via: RequestVia
        if let tunnelHost {
            via = .proxyTLS(host: tunnelHost)
        } else if http.uri.lowercased().hasPrefix("http://") {
            via = .proxyPlain
        } else {
            via = .endpoint
        }
        let clientAddress = context.channel.remoteAddress?.ipAddress
        let head = AgentRequestHead(method: http.method.rawValue, target: http.uri,
                                    headers: http.headers.map { HTTPHeader($0.name, $0.value) },
                                    clientAddress: clientAddress, via: via)
        let flight = Flight(http: http, head: head, requestId: SidecarServices.newRequestId(), started: DispatchTime.now().uptimeNanoseconds,
                            inFlight: services.inFlight)
        flight.expectsContinue = http.headers["expect"].contains { $0.lowercased() == "100-continue" }

        if let problem = Self.framingProblem(http.headers) {
            flight.facts.reason = problem
            reject(flight, response: ErrorStyle.guess(head: head, catalog: services.gate.catalog)
                .error(code: "InvalidRequest", status: 400, message: problem, requestId: flight.requestId), context: context)
            return
        }
        if let refusal = services.auditRefusal() {
            flight.facts.reason = "audit trail unavailable"
            services.metrics.request(decision: "error", service: nil, action: nil)
            reject(flight, response: ErrorStyle.guess(head: head, catalog: services.gate.catalog)
                .error(code: "ServiceUnavailable", status: 503, message: refusal, requestId: flight.requestId),
                context: context, writeAudit: false)
            return
        }
        let now = Int64(services.clock().timeIntervalSince1970)
        handle(services.gate.decide(head, body: nil, now: now, requestId: flight.requestId), flight: flight, context: context)
    }

    private func receiveBody(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        switch state {
        case .buffering(let flight, let limit, var body):
            if body.count + buffer.readableBytes > limit {
                state = .idle
                let message = "Rein must read this body before deciding, and it is larger than limits.max_inspected_body (\(limit) bytes)"
                reject(flight, response: ErrorStyle.guess(head: flight.head, catalog: services.gate.catalog)
                    .error(code: "RequestEntityTooLarge", status: 413, message: message, requestId: flight.requestId), context: context)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
            state = .buffering(flight, limit: limit, body: body)
        case .forwarding(let flight):
            forwardBody(buffer, flight: flight, context: context)
        case .recordingIntent(let flight, let plan, var pending):
            pending.append(buffer)
            state = .recordingIntent(flight, plan, pending: pending)
        case .holding, .idle, .discarding:
            return
        }
    }

    private func receiveEnd(context: ChannelHandlerContext) {
        switch state {
        case .buffering(let flight, _, let body):
            let now = Int64(services.clock().timeIntervalSince1970)
            flight.requestComplete = true
            handle(services.gate.decide(flight.head, body: body, now: now, requestId: flight.requestId), flight: flight, context: context, body: body)
        case .forwarding(let flight):
            flight.requestComplete = true
            finishBody(flight, context: context)
        case .recordingIntent(let flight, _, _):
            // The body ends upstream once forwarding starts.
            flight.requestComplete = true
        case .discarding:
            // The answer went out with Connection: close; the lingering close finishes it.
            return
        case .holding(let flight):
            flight.requestComplete = true
        case .idle:
            return
        }
    }

    /// Passes agent body bytes through the signature checks to the upstream.
    func forwardBody(_ buffer: ByteBuffer, flight: Flight, context: ChannelHandlerContext) {
        guard let processor = flight.processor, let exchange = flight.exchange else { return }
        do {
            let out = try processor.consume(Array(buffer.readableBytesView))
            if !out.isEmpty, !exchange.write(out) {
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        } catch {
            failBody(flight, error: error, context: context)
        }
    }

    /// Ends the upstream body once the agent's has ended (and verified).
    func finishBody(_ flight: Flight, context: ChannelHandlerContext) {
        guard let processor = flight.processor, let exchange = flight.exchange else { return }
        do {
            let out = try processor.finish()
            if !out.isEmpty { _ = exchange.write(out) }
            exchange.finish()
        } catch {
            failBody(flight, error: error, context: context)
        }
    }

    /// Rejects a body that does not match its signature (bad chunk, wrong hash).
    private func failBody(_ flight: Flight, error: SigV4Error, context: ChannelHandlerContext) {
        flight.exchange?.cancel()
        flight.exchange = nil
        flight.facts.decision = "error"
        let style = ErrorStyle.guess(head: flight.head, catalog: services.gate.catalog)
        flight.facts.errorCode = error.awsCode(for: style.dialect)
        flight.facts.reason = error.message
        if flight.responseStarted {
            context.close(promise: nil)
            finishAudit(flight, on: context.eventLoop)
            return
        }
        flight.failedLocally = true
        reject(flight, response: style.error(code: error.awsCode(for: style.dialect), status: error.httpStatus(for: style.dialect),
                                             message: error.message, requestId: flight.requestId),
               context: context, keepFacts: true)
    }

    /// RFC 9112 framing rules the parser leaves to us.
    static func framingProblem(_ headers: HTTPHeaders) -> String? {
        let lengths = headers["content-length"]
        let te = headers["transfer-encoding"]
        if !lengths.isEmpty && !te.isEmpty { return "a request must not carry both Content-Length and Transfer-Encoding" }
        if lengths.count > 1 { return "a request must carry at most one Content-Length" }
        if let l = lengths.first, Int64(l) == nil || l.hasPrefix("+") || l.hasPrefix("-") { return "Content-Length '\(l)' is not a length" }
        if te.count > 1 || (te.first.map { $0.lowercased() != "chunked" } ?? false) {
            return "only Transfer-Encoding: chunked is accepted"
        }
        return nil
    }
}
