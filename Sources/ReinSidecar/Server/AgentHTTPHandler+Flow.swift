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
            startForward(plan, flight: flight, context: context)
        case .hold(let request, let facts):
            flight.facts = facts
            state = .holding(flight)
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context, flight), eventLoop: loop)
            services.holds.submit(request) { resolution in
                loop.execute {
                    let (handler, context, flight) = bound.value
                    handler.resumeHold(flight, resolution: resolution, body: body, context: context)
                }
            }
        }
    }

    private func resumeHold(_ flight: Flight, resolution: HoldResolution, body: [UInt8]?, context: ChannelHandlerContext) {
        guard case .holding(let current) = state, current === flight else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        switch resolution {
        case .approved(let approver):
            flight.facts.reason = "approved by \(approver)"
            let now = Int64(services.clock().timeIntervalSince1970)
            handle(services.gate.approved(flight.head, body: body, now: now, requestId: flight.requestId, facts: flight.facts),
                   flight: flight, context: context, body: body)
        case .denied(let reason):
            flight.facts.decision = "deny"
            flight.facts.reason = reason
            let action = flight.facts.grants.first?.action ?? "unknown"
            let resource = flight.facts.grants.first?.resources.first ?? "*"
            let style = ErrorStyle.guess(head: flight.head, catalog: services.gate.catalog)
            let message = "Rein: not authorized to perform: \(action) on resource: \(resource) because \(reason)"
            reject(flight, response: style.accessDenied(message: message, requestId: flight.requestId), context: context, keepFacts: true)
        }
    }

    private func sendContinueIfExpected(_ flight: Flight, context: ChannelHandlerContext) {
        guard flight.expectsContinue, !flight.sentContinue, flight.head.hasBody else { return }
        flight.sentContinue = true
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: flight.http.version, status: .continue))), promise: nil)
    }

    /// Answers without forwarding. The audit record is durable before the
    /// answer leaves (a denial is never unrecorded).
    func reject(_ flight: Flight, response: AWSErrorResponse, context: ChannelHandlerContext, keepFacts: Bool = false, writeAudit: Bool = true) {
        if !keepFacts { flight.facts.decision = "error"; flight.facts.errorCode = response.code }
        if flight.facts.errorCode == nil { flight.facts.errorCode = response.code }
        flight.responseStatus = response.status
        flight.forwarded = false
        // A body the agent is still sending is not read: answer, then close.
        let unreadBody = flight.head.hasBody && !flight.requestComplete
        if unreadBody { closeAfterResponse = true }
        state = unreadBody ? .discarding : .idle
        var headers = HTTPHeaders(response.headers.map { ($0.0, $0.1) })
        if closeAfterResponse || !flight.http.isKeepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: flight.http.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        flight.bytesOut = Int64(response.body.count)
        let write: () -> Void = { [self] in
            guard self.context != nil else { return }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if closeAfterResponse { done.whenComplete { [channel = context.channel] _ in HeadGuardHandler.lingeringClose(channel) } }
            headGuard.awaitHead()
        }
        guard writeAudit else {
            write()
            return
        }
        let record = auditRecord(flight)
        services.metrics.request(decision: record.decision, service: record.service, action: record.grants.first?.action)
        let loop = context.eventLoop
        let bound = NIOLoopBound(write, eventLoop: loop)
        services.record(record, on: loop).whenComplete { [channel = context.channel] result in
            switch result {
            case .success: bound.value()
            case .failure: channel.close(promise: nil)
            }
        }
    }

    private func startForward(_ plan: ForwardPlan, flight: Flight, context: ChannelHandlerContext) {
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
            sendContinueIfExpected(flight, context: context)
        }
    }

    // MARK: - Response (called on the event loop by UpstreamBridge)

    func upstreamHead(_ flight: Flight, status: Int, headers: [(name: String, value: String)]) {
        guard let context, case .forwarding(let current) = state, current === flight else { return }
        flight.responseStarted = true
        flight.responseStatus = status
        var out = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if RequestGate.hopByHop.contains(lower) { continue }
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
        finishAudit(flight, context: context)
        if case .forwarding(let current) = state, current === flight {
            state = flight.requestComplete ? .idle : .discarding
            headGuard.awaitHead()
        }
    }

    /// Writes the audit record of a forwarded request (after the response).
    func finishAudit(_ flight: Flight, context: ChannelHandlerContext) {
        guard !flight.finished else { return }
        flight.finished = true
        let record = auditRecord(flight)
        services.metrics.request(decision: record.decision, service: record.service, action: record.grants.first?.action)
        services.metrics.latency(phase: "verify", seconds: Double(flight.facts.verifyNanos) / 1e9)
        services.metrics.latency(phase: "decide", seconds: Double(flight.facts.decideNanos) / 1e9)
        if flight.forwarded { services.metrics.latency(phase: "upstream", seconds: Double(flight.upstreamNanos) / 1e9) }
        services.metrics.latency(phase: "total", seconds: Double(DispatchTime.now().uptimeNanoseconds - flight.started) / 1e9)
        _ = services.record(record, on: context.eventLoop)
    }

    /// The agent went away or the connection closed mid-request.
    func abandonFlight(reason: String) {
        let flight: Flight
        switch state {
        case .forwarding(let f), .holding(let f), .buffering(let f, _, _): flight = f
        case .idle, .discarding: return
        }
        state = .idle
        flight.exchange?.cancel()
        flight.exchange = nil
        if !flight.finished, let context {
            flight.facts.errorCode = flight.facts.errorCode ?? "ClientClosed"
            flight.facts.reason = flight.facts.reason ?? reason
            finishAudit(flight, context: context)
        }
    }

    func auditRecord(_ flight: Flight) -> AuditRecord {
        let f = flight.facts
        let policy = services.gate.policy.current.document
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(services.clock()),
                            sidecarId: services.configuration.sidecarId, via: flight.head.via.auditName, decision: f.decision)
        r.agentId = policy.agent.id
        r.taskId = policy.task.id
        r.accessKeyId = f.accessKeyId
        r.sourceAddress = flight.head.clientAddress
        r.userAgent = flight.head.firstValue("user-agent").map { String($0.prefix(256)) }
        r.service = f.service
        r.region = f.region
        r.operation = f.operation
        r.grants = f.grants.map { AuditRecord.Grant(action: $0.action, resources: $0.resources) }
        r.statementId = f.statementId
        r.reason = f.reason
        r.mode = f.mode?.rawValue
        r.forwarded = flight.forwarded
        r.errorCode = f.errorCode
        r.upstreamHost = f.upstreamHost
        r.upstreamStatus = flight.forwarded ? flight.responseStatus : nil
        r.awsRequestId = flight.awsRequestId ?? (flight.forwarded ? nil : flight.requestId)
        r.brokerSource = f.brokerSource
        r.bytesIn = flight.bytesIn
        r.bytesOut = flight.bytesOut
        r.latency = AuditRecord.Latency(
            verifyMs: Double(f.verifyNanos) / 1e6, decideMs: Double(f.decideNanos) / 1e6,
            upstreamMs: flight.forwarded ? Double(flight.upstreamNanos) / 1e6 : nil,
            totalMs: Double(DispatchTime.now().uptimeNanoseconds - flight.started) / 1e6)
        return r
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
