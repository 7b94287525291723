import Foundation
import Logging
import NIOCore
import NIOPosix
import ReinAudit
import ReinCatalog
import ReinUpstream
import Synchronization

/// What every connection handler shares: the gate, the upstream engine, the
/// audit sink, metrics and readiness. Created once per sidecar.
public final class SidecarServices: Sendable {
    public let configuration: SidecarConfiguration
    public let gate: RequestGate
    public let upstream: UpstreamEngine
    public let audit: any AuditSink
    public let metrics: SidecarMetrics
    public let holds: any HoldGate
    public let logger: Logger
    /// Audit writes run here, off the event loops (they fsync).
    public let blockingPool: NIOThreadPool
    public let clock: @Sendable () -> Date
    private let openConnections = Atomic<Int>(0)
    let inFlight = InFlightCounter()
    private let auditFailed = Atomic<Bool>(false)

    public init(configuration: SidecarConfiguration, gate: RequestGate, upstream: UpstreamEngine, audit: any AuditSink,
                metrics: SidecarMetrics, holds: any HoldGate, logger: Logger, blockingPool: NIOThreadPool,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.gate = gate
        self.upstream = upstream
        self.audit = audit
        self.metrics = metrics
        self.holds = holds
        self.logger = logger
        self.blockingPool = blockingPool
        self.clock = clock
    }

    /// False once an audit write failed: the sidecar then refuses requests
    /// (fails closed) and /readyz reports it.
    public var auditHealthy: Bool { !auditFailed.load(ordering: .relaxed) }

    /// Writes an audit record on the blocking pool; the future fails when the
    /// record could not be made durable.
    func record(_ record: AuditRecord, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        if !configuration.auditFsync {
            // Without fsync a record is one append(2): cheaper inline than a thread hop.
            do {
                try audit.record(record)
                return eventLoop.makeSucceededVoidFuture()
            } catch {
                auditFailed.store(true, ordering: .relaxed)
                logger.error("audit write failed; refusing further requests", metadata: ["audit.error": "\(error)"])
                return eventLoop.makeFailedFuture(error)
            }
        }
        let sink = audit
        let future = blockingPool.runIfActive(eventLoop: eventLoop) { try sink.record(record) }
        future.whenFailure { [self] error in
            self.auditFailed.store(true, ordering: .relaxed)
            self.logger.error("audit write failed; refusing further requests", metadata: ["audit.error": "\(error)"])
        }
        return future
    }

    /// Admits a new connection when under the limit.
    func admitConnection() -> Bool {
        let (_, now) = openConnections.wrappingAdd(1, ordering: .relaxed)
        if now > configuration.maxConnections {
            openConnections.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        metrics.connections(1)
        return true
    }

    func releaseConnection() {
        openConnections.wrappingSubtract(1, ordering: .relaxed)
        metrics.connections(-1)
    }

    func isAllowedClient(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return false }
        return configuration.allowedClients.contains { $0.contains(ip) }
    }

    /// An AWS-style request id: 16 upper-case hex characters, as S3 sends.
    /// One 64-bit draw from the system generator (one getrandom call).
    static func newRequestId() -> String {
        var g = SystemRandomNumberGenerator()
        var v = g.next()
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 {
            out[i] = hex[Int(v & 15)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}
