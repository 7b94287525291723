import Foundation
import NIOCore
import NIOHTTP1
import ReinAudit
import ReinCatalog
import ReinUpstream

extension AgentHTTPHandler {
    /// Acts on the gate's outcome.
    func handle(_ outcome: GateOutcome, flight: Flight, context: ChannelHandlerContext, body: [UInt8]? = nil) {
        switch outcome {
        case .reject(let rejection, let facts):
            flight.facts = facts
            reject(flight, response: rejection.response, context: context, keepFacts: true)
        case .needsBody(let limit, let facts):
            flight.facts = facts
            sendContinueIfExpected(flight, context: context)
            state = .buffering(flight, limit: limit, body: [])
        case .forward(let plan, let facts):
            flight.facts = facts
            beginForward(plan, flight: flight, context: context)
        case .hold(let request, let facts):
            flight.facts = facts
            flight.facts.decision = "hold-pending"
            state = .holding(flight)
            // With the request fully read, keep reading so that an agent that
            // gives up is noticed (its retry attaches to the same hold);
            // with body bytes still to come, stop reading until the decision.
            if !flight.requestComplete, flight.head.hasBody {
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context, flight), eventLoop: loop)
            let holdStarted = DispatchTime.now().uptimeNanoseconds
            services.holds.submit(request, registered: { holdId in
                loop.execute {
                    let (_, _, flight) = bound.value
                    flight.facts.holdId = holdId
                }
            }) { resolution in
                loop.execute {
                    let (handler, context, flight) = bound.value
                    flight.facts.holdNanos = DispatchTime.now().uptimeNanoseconds - holdStarted
                    handler.resumeHold(flight, resolution: resolution, body: body, context: context)
                }
            }
        }
    }

    private func resumeHold(_ flight: Flight, resolution: HoldResolution, body: [UInt8]?, context: ChannelHandlerContext) {
        guard case .holding(let current) = state, current === flight else { return }
        let style = ErrorStyle.guess(head: flight.head, catalog: services.gate.catalog)
        let action = flight.facts.grants.first?.action ?? "unknown"
        let resource = flight.facts.grants.first?.resources.first ?? "*"
        switch resolution {
        case .approved(let holdId, let approver, let grantId, let reason, let consume):
            flight.facts.holdId = holdId
            flight.facts.approver = approver
            flight.facts.grantId = grantId
            let how = grantId.map { "grant \($0) from hold \(holdId), approved by \(approver)" } ?? "hold \(holdId) approved by \(approver)"
            flight.facts.reason = how + (reason.map { ": \($0)" } ?? "")
            guard consume else {
                forwardApproved(flight, body: body, context: context)
                return
            }
            // A one-shot approval forwards exactly one call: claim it first.
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context, flight), eventLoop: loop)
            services.holds.consume(holdId: holdId) { claimed in
                loop.execute {
                    let (handler, context, flight) = bound.value
                    guard case .holding(let current) = handler.state, current === flight else { return }
                    if claimed {
                        handler.forwardApproved(flight, body: body, context: context)
                    } else {
                        handler.resumeHold(flight, resolution: .pending(holdId: holdId, retryAfterSeconds: 1), body: body, context: context)
                    }
                }
            }
        case .denied(let holdId, let approver, let reason):
            flight.facts.decision = holdId == "-" ? "deny" : "hold-denied"
            flight.facts.holdId = holdId == "-" ? nil : holdId
            flight.facts.approver = approver
            let why = holdId == "-" ? reason : "hold \(holdId) was denied by \(approver ?? "an approver"): \(reason)"
            flight.facts.reason = why
            flight.facts.errorCode = style.accessDeniedCode
            let message = "Rein: not authorized to perform: \(action) on resource: \(resource) because \(why)"
            reject(flight, response: style.accessDenied(message: message, requestId: flight.requestId), context: context, keepFacts: true)
        case .expired(let holdId):
            flight.facts.decision = "hold-expired"
            flight.facts.holdId = holdId
            let why = "hold \(holdId) expired with no decision (holds.expire), which counts as a denial"
            flight.facts.reason = why
            flight.facts.errorCode = style.accessDeniedCode
            let message = "Rein: not authorized to perform: \(action) on resource: \(resource) because \(why)"
            reject(flight, response: style.accessDenied(message: message, requestId: flight.requestId), context: context, keepFacts: true)
        case .pending(let holdId, let retryAfter):
            flight.facts.decision = "hold-pending"
            flight.facts.holdId = holdId
            flight.facts.reason = "hold \(holdId) is waiting for a human decision"
            flight.facts.errorCode = style.throttlingCode
            let message = "Rein: \(action) on \(resource) is held for human approval (hold \(holdId)); no decision yet, retry the same call (SDKs retry this error automatically)"
            reject(flight, response: style.retryLater(message: message, requestId: flight.requestId, retryAfterSeconds: retryAfter),
                   context: context, keepFacts: true)
        case .unavailable(let reason):
            flight.facts.decision = "hold-pending"
            flight.facts.reason = "the hold could not be registered or checked: \(reason)"
            flight.facts.errorCode = "ServiceUnavailable"
            let message = "Rein: \(action) on \(resource) needs a human approval and the approval service is unavailable; retry later"
            reject(flight, response: style.retryLater(message: message, requestId: flight.requestId, retryAfterSeconds: 5),
                   context: context, keepFacts: true)
        }
    }

    private func forwardApproved(_ flight: Flight, body: [UInt8]?, context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        let now = Int64(services.clock().timeIntervalSince1970)
        handle(services.gate.approved(flight.head, body: body, now: now, requestId: flight.requestId, facts: flight.facts),
               flight: flight, context: context, body: body)
    }

    func sendContinueIfExpected(_ flight: Flight, context: ChannelHandlerContext) {
        guard flight.expectsContinue, !flight.sentContinue, flight.head.hasBody else { return }
        flight.sentContinue = true
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: flight.http.version, status: .continue))), promise: nil)
    }

    /// Answers without forwarding. The audit record is durable before the
    /// answer leaves (a denial is never unrecorded); when it cannot be
    /// stored, the agent gets a 503 instead and nothing else happens.
    func reject(_ flight: Flight, response: AWSErrorResponse, context: ChannelHandlerContext, keepFacts: Bool = false, writeAudit: Bool = true) {
        if !keepFacts { flight.facts.decision = "error"; flight.facts.errorCode = response.code }
        if flight.facts.errorCode == nil { flight.facts.errorCode = response.code }
        flight.responseStatus = response.status
        flight.forwarded = false
        // A body the agent is still sending is not read: answer, then close.
        let unreadBody = flight.head.hasBody && !flight.requestComplete
        if unreadBody { closeAfterResponse = true }
        state = unreadBody ? .discarding : .idle
        flight.bytesOut = Int64(response.body.count)
        guard writeAudit else {
            send(response, flight: flight, context: context)
            return
        }
        flight.finished = true
        let record = auditRecord(flight)
        let ticket = flight.ticket
        flight.ticket = nil
        services.metrics.request(decision: record.decision, service: record.service, action: record.grants.first?.action)
        let bound = NIOLoopBound((self, context, flight), eventLoop: context.eventLoop)
        services.record(record, completing: ticket, on: context.eventLoop).whenComplete { result in
            let (handler, context, flight) = bound.value
            switch result {
            case .success:
                handler.send(response, flight: flight, context: context)
            case .failure(let error):
                handler.closeAfterResponse = true
                let style = ErrorStyle.guess(head: flight.head, catalog: handler.services.gate.catalog)
                handler.send(style.error(code: "ServiceUnavailable", status: 503, message: handler.services.auditFailureMessage(error),
                                         requestId: flight.requestId), flight: flight, context: context)
            }
        }
    }

    /// Writes a complete error answer (closing afterwards when asked to).
    func send(_ response: AWSErrorResponse, flight: Flight, context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        var headers = HTTPHeaders(response.headers.map { ($0.0, $0.1) })
        if closeAfterResponse || !flight.http.isKeepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: flight.http.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closeAfterResponse { done.whenComplete { [channel = context.channel] _ in HeadGuardHandler.lingeringClose(channel) } }
        headGuard.awaitHead()
    }

    /// Sends the request upstream; its intent is already durable. Body bytes
    /// that arrived while the intent was written go first.
    func startForward(_ plan: ForwardPlan, flight: Flight, context: ChannelHandlerContext, pending: [ByteBuffer] = []) {
        let bodyMode: UpstreamRequest.Body
        var pendingBody: [UInt8]?
        switch plan.body {
        case .empty:
            bodyMode = .none
        case .buffered(let bytes):
            bodyMode = .length(bytes.count)
            pendingBody = bytes
        case .stream(let processor, let length):
            flight.processor = processor
            bodyMode = length.map { .length(Int($0)) } ?? .chunked
        }
        // Framing is the engine's: it sends exactly the length it was given.
        let headers = plan.headers.filter { $0.name.lowercased() != "content-length" && $0.name.lowercased() != "transfer-encoding" }
        let request = UpstreamRequest(method: plan.method, url: plan.url, headers: headers, body: bodyMode)
        flight.forwarded = true
        flight.upstreamStarted = DispatchTime.now().uptimeNanoseconds
        let bridge = UpstreamBridge(handler: NIOLoopBound(self, eventLoop: context.eventLoop), flight: NIOLoopBound(flight, eventLoop: context.eventLoop),
                                    eventLoop: context.eventLoop)
        state = .forwarding(flight)
        let exchange = services.upstream.execute(request, delegate: bridge)
        flight.exchange = exchange
        if let pendingBody {
            flight.bytesIn = Int64(pendingBody.count)
            _ = exchange.write(pendingBody)
            exchange.finish()
        } else if case .none = bodyMode {
            exchange.finish()
        } else {
            for buffer in pending {
                guard case .forwarding(let current) = state, current === flight else { return }
                forwardBody(buffer, flight: flight, context: context)
            }
            if flight.requestComplete {
                finishBody(flight, context: context)
            } else {
                sendContinueIfExpected(flight, context: context)
            }
        }
    }

    // MARK: - Response (called on the event loop by UpstreamBridge)

    func upstreamHead(_ flight: Flight, status: Int, headers: [(name: String, value: String)]) {
        guard let context, case .forwarding(let current) = state, current === flight else { return }
        flight.responseStarted = true
        flight.responseStatus = status
        if status >= 400 { flight.upstreamError = UpstreamErrorCode() }
        let bodiless = (100..<200).contains(status) || status == 204 || status == 304 || flight.http.method == .HEAD
        flight.responseLength = bodiless ? 0 : nil
        var out = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if !bodiless, lower == "content-length" { flight.responseLength = Int64(value.trimmingCharacters(in: .whitespaces)) }
            if RequestGate.hopByHop.contains(lower) { continue }
            flight.upstreamError?.header(name: name, value: value)
            if lower == "x-amz-request-id" || lower == "x-amzn-requestid" { flight.awsRequestId = flight.awsRequestId ?? value }
            out.add(name: name, value: value)
        }
        if !flight.requestComplete && flight.head.hasBody { closeAfterResponse = true }
        if closeAfterResponse || !flight.http.isKeepAlive { out.replaceOrAdd(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: flight.http.version, status: HTTPResponseStatus(statusCode: status), headers: out)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
    }

    func upstreamBody(_ flight: Flight, bytes: [UInt8]) {
        guard let context, case .forwarding(let current) = state, current === flight else { return }
        flight.bytesOut += Int64(bytes.count)
        flight.upstreamError?.body(bytes)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
    }

    /// After a batch of upstream events: one flush, and pause the upstream
    /// while the agent's socket is full.
    func upstreamDrained(_ flight: Flight) {
        guard let context else { return }
        context.flush()
        if case .forwarding(let current) = state, current === flight, !context.channel.isWritable, !flight.responsePaused {
            flight.responsePaused = true
            flight.exchange?.pauseResponse()
        }
    }

    func upstreamCanAcceptMore(_ flight: Flight) {
        guard let context, case .forwarding(let current) = state, current === flight else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        context.read()
    }

    func upstreamFinished(_ flight: Flight, result: Result<UpstreamTimings, UpstreamError>) {
        flight.exchange = nil
        guard let context, !flight.finished else { return }
        flight.upstreamNanos = DispatchTime.now().uptimeNanoseconds - flight.upstreamStarted
        if flight.failedLocally { return }
        if let processor = flight.processor { flight.bytesIn = processor.bytesIn }
        switch result {
        case .success(let timings):
            if flight.processor == nil, flight.bytesIn == 0 { flight.bytesIn = Int64(timings.bytesSent) }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if closeAfterResponse { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
        case .failure(let error):
            services.metrics.upstreamError(kind: "\(error.kind)")
            flight.facts.errorCode = "Upstream\(error.kind)"
            flight.facts.reason = error.description
            services.logger.warning("upstream failed", metadata: ["upstream.host": "\(error.host)", "upstream.error": "\(error.kind)"])
            if flight.responseStarted {
                // The response is cut short: the agent must see a broken transfer, not a clean end.
                context.close(promise: nil)
            } else {
                let style = ErrorStyle.guess(head: flight.head, catalog: services.gate.catalog)
                let response = style.error(code: "ServiceUnavailable", status: 503,
                                           message: "Rein could not reach the AWS endpoint: \(error.kind)", requestId: flight.requestId)
                var headers = HTTPHeaders(response.headers.map { ($0.0, $0.1) })
                headers.replaceOrAdd(name: "Connection", value: "close")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: flight.http.version, status: .serviceUnavailable, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
                flight.responseStatus = 503
            }
        }
        finishAudit(flight, on: context.eventLoop)
        if case .forwarding(let current) = state, current === flight {
            state = flight.requestComplete ? .idle : .discarding
            headGuard.awaitHead()
        }
    }

    /// A plain-text answer for listener-level problems (not an AWS call).
    func respondPlain(context: ChannelHandlerContext, status: HTTPResponseStatus, message: String, close: Bool) {
        let body = Array((message + "\n").utf8)
        var headers = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.count))])
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            state = .discarding
            done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
    }
}

extension AWSErrorResponse {
    /// The bare error code of this answer, for the audit record.
    var code: String? {
        if let t = header("x-amzn-ErrorType") { return String(t.prefix { $0 != ":" }) }
        let text = String(decoding: body, as: UTF8.self)
        for marker in ["<Code>", "\"__type\":\"", "\"code\":\""] {
            if let r = text.range(of: marker) {
                let rest = text[r.upperBound...]
                let code = rest.prefix { $0 != "<" && $0 != "\"" }
                return AWSErrorResponse.bareCode(String(code))
            }
        }
        return nil
    }
}
