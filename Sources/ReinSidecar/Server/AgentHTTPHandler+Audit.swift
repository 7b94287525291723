import Foundation
import NIOCore
import NIOHTTP1
import ReinAudit
import ReinCatalog
import ReinStore

extension AgentHTTPHandler {
    /// An allowed call: its intent is made durable first, and only then does
    /// anything go upstream. A crash after this point leaves an intent that
    /// the spool seals as "outcome unknown" at the next start; a failure to
    /// write it answers 503 and forwards nothing (fail closed).
    func beginForward(_ plan: ForwardPlan, flight: Flight, context: ChannelHandlerContext) {
        flight.forwarded = true
        let intent = auditRecord(flight)
        flight.forwarded = false
        state = .recordingIntent(flight, plan, pending: [])
        // Bounds what is buffered meanwhile; forwarding turns reading back on.
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let bound = NIOLoopBound((self, context, flight), eventLoop: context.eventLoop)
        services.recordIntent(intent, on: context.eventLoop).whenComplete { result in
            let (handler, context, flight) = bound.value
            handler.intentRecorded(result, flight: flight, context: context)
        }
    }

    private func intentRecorded(_ result: Result<IntentTicket?, any Error>, flight: Flight, context: ChannelHandlerContext) {
        guard case .recordingIntent(let current, let plan, let pending) = state, current === flight else {
            // The agent went away while the intent was written: nothing was
            // forwarded; complete the intent with what happened.
            if case .success(let ticket) = result, !flight.finished {
                flight.ticket = ticket
                finishAudit(flight, on: context.eventLoop)
            }
            return
        }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        switch result {
        case .success(let ticket):
            flight.ticket = ticket
            startForward(plan, flight: flight, context: context, pending: pending)
            context.read()
        case .failure(let error):
            flight.facts.reason = "audit trail unavailable"
            let style = ErrorStyle.guess(head: flight.head, catalog: services.gate.catalog)
            reject(flight, response: style.error(code: "ServiceUnavailable", status: 503, message: services.auditFailureMessage(error),
                                                 requestId: flight.requestId),
                   context: context, writeAudit: false)
        }
    }

    /// Writes the audit record of a forwarded request (after the response),
    /// completing its intent.
    func finishAudit(_ flight: Flight, on eventLoop: any EventLoop) {
        guard !flight.finished else { return }
        flight.finished = true
        let record = auditRecord(flight)
        let ticket = flight.ticket
        flight.ticket = nil
        services.metrics.request(decision: record.decision, service: record.service, action: record.grants.first?.action)
        services.metrics.latency(phase: "verify", seconds: Double(flight.facts.verifyNanos) / 1e9)
        services.metrics.latency(phase: "decide", seconds: Double(flight.facts.decideNanos) / 1e9)
        if flight.forwarded { services.metrics.latency(phase: "upstream", seconds: Double(flight.upstreamNanos) / 1e9) }
        services.metrics.latency(phase: "total", seconds: Double(DispatchTime.now().uptimeNanoseconds - flight.started) / 1e9)
        _ = services.record(record, completing: ticket, on: eventLoop)
    }

    /// The agent went away or the connection closed mid-request.
    func abandonFlight(reason: String) {
        let flight: Flight
        var intentPending = false
        switch state {
        case .forwarding(let f), .holding(let f), .buffering(let f, _, _): flight = f
        case .recordingIntent(let f, _, _):
            flight = f
            intentPending = true
        case .idle, .discarding: return
        }
        state = .idle
        flight.exchange?.cancel()
        flight.exchange = nil
        guard !flight.finished else { return }
        // All of AWS's answer was passed on before the agent hung up (it may
        // close as soon as it has it): the call finished, it was not cut short.
        let delivered = flight.responseStarted && flight.responseLength.map { flight.bytesOut >= $0 } == true
        if !delivered {
            flight.facts.errorCode = flight.facts.errorCode ?? "ClientClosed"
            flight.facts.reason = flight.facts.reason ?? reason
        } else if flight.upstreamNanos == 0, flight.upstreamStarted > 0 {
            flight.upstreamNanos = DispatchTime.now().uptimeNanoseconds - flight.upstreamStarted
        }
        // With the intent still being written, its completion records the call.
        if !intentPending, let context {
            finishAudit(flight, on: context.eventLoop)
        }
    }

    func auditRecord(_ flight: Flight) -> AuditRecord {
        let f = flight.facts
        let policy = services.gate.policy.current.document
        var r = AuditRecord(recordId: flight.recordId, time: AuditRecord.timestamp(services.clock()),
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
        r.policyVersion = services.policyVersion
        r.holdId = f.holdId
        r.approver = f.approver
        r.grantId = f.grantId
        r.forwarded = flight.forwarded
        // A forwarded call AWS refused carries AWS's code, as the agent's SDK saw it.
        r.errorCode = f.errorCode ?? flight.upstreamError.map { $0.code(status: flight.responseStatus ?? 0) }
        r.upstreamHost = f.upstreamHost
        r.upstreamStatus = flight.forwarded ? flight.responseStatus : nil
        r.awsRequestId = flight.awsRequestId ?? (flight.forwarded ? nil : flight.requestId)
        r.brokerSource = f.brokerSource
        r.bytesIn = flight.bytesIn
        r.bytesOut = flight.bytesOut
        r.latency = AuditRecord.Latency(
            verifyMs: Double(f.verifyNanos) / 1e6, decideMs: Double(f.decideNanos) / 1e6, holdMs: f.holdNanos.map { Double($0) / 1e6 },
            upstreamMs: flight.forwarded ? Double(flight.upstreamNanos) / 1e6 : nil,
            totalMs: Double(DispatchTime.now().uptimeNanoseconds - flight.started) / 1e6)
        return r
    }
}
