import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ReinTLS
import ReinServiceKit
import Synchronization

/// The collector's HTTP/1.1 listener: binds, serves the route table, and
/// stops gracefully.
///
/// Why separate from ``CollectorLauncher``: tests build a server around an
/// in-memory configuration and a temporary store, on 127.0.0.1 port 0, and
/// talk to it over real sockets; the launcher adds files, signals and the
/// retention job around the same type.
public final class CollectorServer: Sendable {
    /// A connection that sends nothing for this long (outside a request in progress) is closed.
    static let idleTimeout = TimeAmount.seconds(120)

    public let services: CollectorServices
    public let router: CollectorRouter
    /// TLS on system OpenSSL when `tls.certificate` and `tls.key` are set
    /// (each new connection takes the identity loaded last).
    public let tls: CollectorTLS?
    private let group: MultiThreadedEventLoopGroup
    private let channel = Mutex<(any Channel)?>(nil)

    public init(services: CollectorServices, router: CollectorRouter = .standard(), tls: CollectorTLS? = nil,
                eventLoopThreads: Int = max(1, min(2, System.coreCount))) {
        self.services = services
        self.router = router
        self.tls = tls
        group = MultiThreadedEventLoopGroup(numberOfThreads: eventLoopThreads)
    }

    /// Binds `services.configuration.listen`; returns the bound address (port 0 picks one).
    public func start() async throws -> SocketAddress {
        let router = self.router
        let services = self.services
        let tls = self.tls
        let listen = services.configuration.listen
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // A cap on connections: a flood of idle or trickling clients
                // cannot use up the collector's descriptors (its database and
                // log need some too).
                if services.openConnections.wrappingAdd(1, ordering: .relaxed).newValue > services.configuration.maxConnections {
                    services.openConnections.subtract(1, ordering: .relaxed)
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in services.openConnections.subtract(1, ordering: .relaxed) }
                return channel.eventLoop.makeCompletedFuture {
                    // Longer than the longest long-poll (60 s), so only a silent client is dropped.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout))
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            TLSServerHandler(context: tls.context, logger: services.logger), name: "rein.tls")
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        CollectorHTTPHandler(router: router, services: services))
                }
            }
            .bind(host: listen.host, port: listen.port).get()
        channel.withLock { $0 = bound }
        guard let address = bound.localAddress else {
            throw CollectorStartError("the listener on \(listen) has no local address")
        }
        return address
    }

    /// Stops accepting, ends long-polls, waits up to `grace` for requests in
    /// flight (their batches committed), then stops the event loops and the
    /// services' thread pool.
    public func shutdown(grace: Duration = .seconds(10)) async {
        let listener = channel.withLock { c -> (any Channel)? in
            defer { c = nil }
            return c
        }
        try? await listener?.close()
        services.recordsChanged.close()
        services.policiesChanged.close()
        let deadline = ContinuousClock.now + grace
        while services.inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if services.inFlight.load(ordering: .relaxed) > 0 {
            services.logger.warning("shutting down with requests still in flight",
                                    metadata: ["requests.in_flight": "\(services.inFlight.load(ordering: .relaxed))"])
        }
        try? await group.shutdownGracefully()
        try? await services.threadPool.shutdownGracefully()
    }
}

/// Why the collector could not start, with what to fix.
public struct CollectorStartError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
