import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ReinAudit
import ReinCatalog
import ReinPolicy
import ReinTLS
import ReinUpstream
import ReinServiceKit

/// A running sidecar: the agent listener (endpoint mode and HTTPS proxy),
/// the credentials listener and the admin listener.
public final class Sidecar: Sendable {
    public let services: SidecarServices
    let group: MultiThreadedEventLoopGroup
    let credentialsEndpoint: AgentCredentialsEndpoint?
    let proxy: ProxySupport?
    let readiness: @Sendable () -> [String]
    /// A standalone sidecar's holds API, served on the admin listener.
    let holdsAPI: StandaloneHoldsAPI?

    /// The addresses actually bound (port 0 in configuration picks a free one).
    public struct Bound: Sendable {
        public let agent: SocketAddress
        public let admin: SocketAddress
        public let credentials: SocketAddress?
    }

    init(services: SidecarServices, group: MultiThreadedEventLoopGroup, credentialsEndpoint: AgentCredentialsEndpoint?,
         proxy: ProxySupport?, readiness: @escaping @Sendable () -> [String], holdsAPI: StandaloneHoldsAPI? = nil) {
        self.holdsAPI = holdsAPI
        self.services = services
        self.group = group
        self.credentialsEndpoint = credentialsEndpoint
        self.proxy = proxy
        self.readiness = readiness
    }

    /// Binds every listener; returns once they accept connections.
    public func start() async throws -> (Bound, [any Channel]) {
        let config = services.configuration
        let agent = try await bindAgentListener(config.listen)
        var api: SimpleHTTPHandler.API?
        if let holdsAPI {
            api = { @Sendable head, body in await holdsAPI.respond(head, body: body) }
        }
        let admin = try await bindSimple(config.adminListen, api: api) { [services, readiness] head, _ in
            Self.adminRoute(head, services: services, readiness: readiness)
        }
        var channels = [agent, admin]
        var credentialsAddress: SocketAddress?
        if let listen = config.credentialsListen, let endpoint = credentialsEndpoint {
            // Off the event loops: a rotation writes the credentials file (an fsync).
            let pool = services.blockingPool
            let c = try await bindSimple(listen, api: { head, _ in await endpoint.respond(head, on: pool) }, apiPrefix: "/") { _, _ in
                AgentCredentialsEndpoint.notAPath()
            }
            channels.append(c)
            credentialsAddress = c.localAddress
        }
        guard let a = agent.localAddress, let m = admin.localAddress else {
            throw ConfigurationError(key: "listen", message: "listener has no local address")
        }
        return (Bound(agent: a, admin: m, credentials: credentialsAddress), channels)
    }

    /// Stops accepting, waits up to `grace` for requests in flight to finish
    /// (their audit records written), then stops the engine, runs
    /// `beforeSpoolCloses` (the shipper's last drain) and closes the spool
    /// (which commits what is queued and signs a last checkpoint).
    public func shutdown(channels: [any Channel], grace: Duration = .seconds(10), beforeSpoolCloses: @Sendable () -> Void = {}) async {
        for c in channels { try? await c.close() }
        let deadline = ContinuousClock.now + grace
        while services.inFlight.value > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if services.inFlight.value > 0 {
            services.logger.warning("shutting down with requests still in flight", metadata: ["requests.in_flight": "\(services.inFlight.value)"])
        }
        services.upstream.shutdown()
        beforeSpoolCloses()
        services.spool.close()
        services.mirror?.close()
        try? await services.blockingPool.shutdownGracefully()
        try? await group.shutdownGracefully()
    }

    private func bindAgentListener(_ address: ListenAddress) async throws -> any Channel {
        let services = self.services
        let proxy = self.proxy
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                guard services.isAllowedClient(channel.remoteAddress) else {
                    services.logger.notice("refused a client outside allowed_clients", metadata: ["client.address": "\(channel.remoteAddress?.ipAddress ?? "?")"])
                    return channel.close()
                }
                guard services.admitConnection() else {
                    services.logger.warning("refused a connection over limits.max_connections")
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in services.releaseConnection() }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.addAgentHTTPHandlers(to: channel.pipeline.syncOperations, services: services, tunnelHost: nil, proxy: proxy)
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    /// The HTTP stack of an agent connection (also used inside CONNECT tunnels).
    static func addAgentHTTPHandlers(to pipeline: ChannelPipeline.SynchronousOperations, services: SidecarServices,
                                     tunnelHost: String?, proxy: ProxySupport?) throws {
        let config = services.configuration
        let guardState = HeadGuardState()
        try pipeline.addHandler(HeadGuardHandler(state: guardState, maxHeaderBytes: config.maxHeaderBytes,
                                                 headerTimeout: .seconds(config.headerTimeout), idleTimeout: .seconds(config.idleTimeout)),
                                name: "rein.headguard")
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: "rein.decoder")
        try pipeline.addHandler(HTTPResponseEncoder(), name: "rein.encoder")
        try pipeline.addHandler(HTTPServerPipelineHandler(), name: "rein.pipelining")
        let connect: ((ChannelHandlerContext, HTTPRequestHead, AgentHTTPHandler) -> Void)? = proxy.map { p in
            { context, head, handler in p.handleConnect(context: context, head: head, handler: handler) }
        }
        try pipeline.addHandler(AgentHTTPHandler(services: services, tunnelHost: tunnelHost, headGuard: guardState,
                                                 connectHandler: tunnelHost == nil ? connect : nil), name: "rein.agent")
    }

    private func bindSimple(_ address: ListenAddress, api: SimpleHTTPHandler.API? = nil, apiPrefix: String = "/v1/",
                            route: @escaping @Sendable (HTTPRequestHead, String?) -> SimpleHTTPHandler.Response) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SimpleHTTPHandler(route: route, api: api, apiPrefix: apiPrefix))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    static func adminRoute(_ head: HTTPRequestHead, services: SidecarServices, readiness: @Sendable () -> [String]) -> SimpleHTTPHandler.Response {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        switch path {
        case "/healthz":
            // Liveness: a failed audit write (a disk error, a deleted log) is
            // not cleared in place, since the chain's state must be read back
            // from disk; a restart does that, so ask the orchestrator for one.
            guard services.auditHealthy else {
                return .init(status: .serviceUnavailable, contentType: "text/plain; charset=utf-8",
                             body: Array("unhealthy: the audit trail could not be written; restart the sidecar (see its log)\n".utf8))
            }
            // The holds database is written anew at its next open, likewise.
            if let fault = services.holdsFault() {
                return .init(status: .serviceUnavailable, contentType: "text/plain; charset=utf-8",
                             body: Array("unhealthy: the holds database refuses writes until the sidecar restarts: \(fault)\n".utf8))
            }
            return .init(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
        case "/readyz":
            let problems = readiness()
            if problems.isEmpty { return .init(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("ready\n".utf8)) }
            let text = "not ready:\n" + problems.map { "- \($0)\n" }.joined()
            return .init(status: .serviceUnavailable, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        case "/metrics":
            services.metrics.spool(services.spool.stats)
            if let shipper = services.shipper { services.metrics.shipper(shipper.status) }
            if let hold = services.cpuLatency { services.metrics.cpuLatency(held: hold.isHeld, requests: hold.acquisitions) }
            if let reload = services.policyReload { services.metrics.policyFile(refused: reload.isRefusedNow, applied: reload.appliedCount) }
            return .init(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: services.metrics.exposition())
        default:
            return .init(status: .notFound, contentType: "text/plain; charset=utf-8", body: Array("not found: try /healthz, /readyz or /metrics\n".utf8))
        }
    }
}
