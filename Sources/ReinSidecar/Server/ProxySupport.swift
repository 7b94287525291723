import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ReinAudit
import ReinStore
import ReinTLS
import ReinServiceKit

/// Forward-proxy mode: `CONNECT` to an AWS name is terminated with Rein's
/// own TLS (a leaf minted for the name by the per-sidecar CA) so the calls
/// inside are verified like any other; `CONNECT` to a configured
/// passthrough host is tunnelled blind and audited; anything else is 403.
final class ProxySupport: Sendable {
    let services: SidecarServices
    let tls: TLSServerContext
    let intercept: [String]
    let passthrough: Set<String>

    init(services: SidecarServices, tls: TLSServerContext) {
        self.services = services
        self.tls = tls
        intercept = services.configuration.interceptDomains
        passthrough = Set(services.configuration.passthroughHosts)
    }

    /// True for names under an intercepted AWS domain (`*.amazonaws.com`, ...).
    static func isIntercepted(_ host: String, domains: [String]) -> Bool {
        let h = host.lowercased()
        return domains.contains { h.hasSuffix("." + $0) }
    }

    func handleConnect(context: ChannelHandlerContext, head: HTTPRequestHead, handler: AgentHTTPHandler) {
        let target = head.uri.lowercased()
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]), (1...65535).contains(port) else {
            handler.respondPlain(context: context, status: .badRequest, message: "CONNECT needs host:port", close: true)
            return
        }
        let host = String(target[..<colon])
        let client = context.channel.remoteAddress?.ipAddress
        if Self.isIntercepted(host, domains: intercept) {
            guard port == 443 else {
                refuse(record(decision: "deny", host: host, port: port, client: client, reason: "AWS endpoints are reached on port 443 only"),
                       status: .forbidden, message: "Rein intercepts AWS endpoints on port 443 only", context: context, handler: handler)
                return
            }
            intercept(context: context, head: head, host: host, handler: handler)
        } else if passthrough.contains(host) || passthrough.contains("\(host):\(port)") {
            tunnel(context: context, head: head, host: host, port: port, handler: handler)
        } else {
            refuse(record(decision: "deny", host: host, port: port, client: client,
                          reason: "CONNECT target is neither an AWS endpoint nor in proxy.passthrough"),
                   status: .forbidden, message: "Rein refuses CONNECT to \(host):\(port): only AWS endpoints (and proxy.passthrough hosts) are reachable",
                   context: context, handler: handler)
        }
    }

    /// Answers 200, then swaps the HTTP stack for TLS + a fresh HTTP stack
    /// whose requests must all name `host`.
    private func intercept(context: ChannelHandlerContext, head: HTTPRequestHead, host: String, handler: AgentHTTPHandler) {
        let established = HTTPResponseHead(version: head.version, status: .ok, headers: HTTPHeaders([("Content-Length", "0")]))
        context.write(NIOAny(HTTPServerResponsePart.head(established)), promise: nil)
        let services = self.services
        let tls = self.tls
        let pipeline = context.pipeline
        let channel = context.channel
        let flushed = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        let removed = flushed.flatMap { Self.removeHTTPHandlers(pipeline) }
        removed.flatMapThrowing { () throws -> Void in
            var logger = services.logger
            logger[metadataKey: "tls.connect_host"] = "\(host)"
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(TLSServerHandler(context: tls, logger: logger), name: "rein.tls")
            try Sidecar.addAgentHTTPHandlers(to: sync, services: services, tunnelHost: host, proxy: nil)
        }.whenFailure { error in
            services.logger.warning("could not start TLS interception", metadata: ["tls.error": "\(error)"])
            channel.close(promise: nil)
        }
    }

    /// Removes the plain HTTP stack once a CONNECT has been answered.
    static func removeHTTPHandlers(_ pipeline: ChannelPipeline) -> EventLoopFuture<Void> {
        let names = ["rein.agent", "rein.pipelining", "rein.encoder", "rein.headguard", "rein.decoder"]
        var future = pipeline.eventLoop.makeSucceededVoidFuture()
        for name in names {
            future = future.flatMap { pipeline.removeHandler(name: name) }
        }
        return future
    }

    /// A blind TCP tunnel to an allow-listed host, audited as one record:
    /// its intent is durable before the upstream connection is opened.
    private func tunnel(context: ChannelHandlerContext, head: HTTPRequestHead, host: String, port: Int, handler: AgentHTTPHandler) {
        let intent = record(decision: "allow", host: host, port: port, client: context.channel.remoteAddress?.ipAddress,
                            reason: "proxy.passthrough (not inspected)")
        let services = self.services
        let bound = NIOLoopBound((handler, context), eventLoop: context.eventLoop)
        services.recordIntent(intent, on: context.eventLoop).whenComplete { [self] result in
            let (handler, context) = bound.value
            switch result {
            case .failure(let error):
                handler.respondPlain(context: context, status: .serviceUnavailable, message: services.auditFailureMessage(error), close: true)
            case .success(let ticket):
                connectTunnel(context: context, head: head, host: host, port: port, handler: handler, intent: intent, ticket: ticket)
            }
        }
    }

    private func connectTunnel(context: ChannelHandlerContext, head: HTTPRequestHead, host: String, port: Int, handler: AgentHTTPHandler,
                               intent: AuditRecord, ticket: IntentTicket?) {
        let agentChannel = context.channel
        let pipeline = context.pipeline
        let services = self.services
        let bound = NIOLoopBound((handler, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.seconds(services.configuration.upstreamConnectTimeout))
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    var failed = intent
                    failed.decision = "error"
                    failed.forwarded = false
                    failed.reason = "tunnel connect failed: \(error)"
                    services.metrics.request(decision: failed.decision, service: "tunnel", action: nil)
                    services.record(failed, completing: ticket, on: agentChannel.eventLoop).whenComplete { _ in
                        let (handler, context) = bound.value
                        handler.respondPlain(context: context, status: .badGateway, message: "cannot reach \(host):\(port)", close: true)
                    }
                case .success(let upstream):
                    let context = bound.value.1
                    services.metrics.request(decision: intent.decision, service: "tunnel", action: nil)
                    _ = services.record(intent, completing: ticket, on: agentChannel.eventLoop)
                    let established = HTTPResponseHead(version: head.version, status: .ok, headers: HTTPHeaders([("Content-Length", "0")]))
                    context.write(NIOAny(HTTPServerResponsePart.head(established)), promise: nil)
                    let flushed = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
                    flushed.flatMap { Self.removeHTTPHandlers(pipeline) }.flatMapThrowing { () throws -> Void in
                        let (a, b) = GlueHandler.matchedPair()
                        try agentChannel.pipeline.syncOperations.addHandler(a)
                        try upstream.pipeline.syncOperations.addHandler(b)
                    }.whenFailure { _ in
                        agentChannel.close(promise: nil)
                        upstream.close(promise: nil)
                    }
                }
            }
    }

    /// Records a refused CONNECT, then answers: the refusal is durable before
    /// the agent sees it, and a 503 replaces it when it cannot be stored.
    private func refuse(_ record: AuditRecord, status: HTTPResponseStatus, message: String, context: ChannelHandlerContext, handler: AgentHTTPHandler) {
        services.metrics.request(decision: record.decision, service: "tunnel", action: nil)
        let services = self.services
        let bound = NIOLoopBound((handler, context), eventLoop: context.eventLoop)
        services.record(record, on: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success:
                handler.respondPlain(context: context, status: status, message: message, close: true)
            case .failure(let error):
                handler.respondPlain(context: context, status: .serviceUnavailable, message: services.auditFailureMessage(error), close: true)
            }
        }
    }

    private func record(decision: String, host: String, port: Int, client: String?, reason: String) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(services.clock()),
                            sidecarId: services.configuration.sidecarId, via: "tunnel", decision: decision)
        let policy = services.gate.policy.current.document
        r.agentId = policy.agent.id
        r.taskId = policy.task.id
        r.sourceAddress = client
        r.upstreamHost = "\(host):\(port)"
        r.reason = reason
        r.forwarded = decision == "allow"
        return r
    }
}
