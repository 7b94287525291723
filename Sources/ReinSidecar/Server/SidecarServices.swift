import Foundation
import Logging
import NIOCore
import NIOPosix
import ReinAudit
import ReinCatalog
import ReinCollectorClient
import ReinStore
import ReinServiceKit
import ReinUpstream
import Synchronization

/// What every connection handler shares: the gate, the upstream engine, the
/// audit spool, metrics and readiness. Created once per sidecar.
public final class SidecarServices: Sendable {
    public let configuration: SidecarConfiguration
    public let gate: RequestGate
    public let upstream: UpstreamEngine
    /// The durable audit spool; the shipper reads and acknowledges it.
    public let spool: AuditSpool
    /// The checkpoint key's public half (hex), to register with the collector.
    public let auditPublicKey: String
    public let metrics: SidecarMetrics
    public let holds: any HoldGate
    public let logger: Logger
    /// Blocking work off the event loops.
    public let blockingPool: NIOThreadPool
    public let clock: @Sendable () -> Date
    /// The readable JSONL copy of the chain, closed at shutdown.
    let mirror: AuditMirror?
    private let openConnections = Atomic<Int>(0)
    let inFlight = InFlightCounter()
    private let auditFailed = Atomic<Bool>(false)
    private let spoolWasFull = Atomic<Bool>(false)
    private let policyVersionBox = Mutex<String?>(nil)
    private let shipperBox = Mutex<AuditShipper?>(nil)
    private let cpuLatencyBox = Mutex<CPULatencyHold?>(nil)
    private let holdsFaultBox = Mutex<@Sendable () -> String?>({ nil })
    private let policyReloadBox = Mutex<PolicyFileReload?>(nil)

    /// Reloads of `policy_file`, when it is the policy: /metrics says whether the file on disk applied.
    public var policyReload: PolicyFileReload? {
        get { policyReloadBox.withLock { $0 } }
        set { policyReloadBox.withLock { $0 = newValue } }
    }

    /// The shipper, once a collector link started it: /metrics reports how
    /// shipping goes (a collector outage shows there, not only in the log).
    public var shipper: AuditShipper? {
        get { shipperBox.withLock { $0 } }
        set { shipperBox.withLock { $0 = newValue } }
    }

    /// The `cpu_latency_qos` request, when set: /metrics says whether it is held.
    public var cpuLatency: CPULatencyHold? {
        get { cpuLatencyBox.withLock { $0 } }
        set { cpuLatencyBox.withLock { $0 = newValue } }
    }

    /// Why the local holds database refuses writes until a restart, or nil:
    /// /healthz asks for that restart, /readyz says why.
    public var holdsFault: @Sendable () -> String? {
        get { holdsFaultBox.withLock { $0 } }
        set { holdsFaultBox.withLock { $0 = newValue } }
    }

    /// The central policy version in force (nil for a local policy file);
    /// every audit record names it.
    public var policyVersion: String? {
        get { policyVersionBox.withLock { $0 } }
        set { policyVersionBox.withLock { $0 = newValue } }
    }

    public convenience init(configuration: SidecarConfiguration, gate: RequestGate, upstream: UpstreamEngine, spool: AuditSpool,
                            metrics: SidecarMetrics, holds: any HoldGate, logger: Logger, blockingPool: NIOThreadPool,
                            clock: @escaping @Sendable () -> Date = { Date() }) {
        self.init(configuration: configuration, gate: gate, upstream: upstream, spool: spool, mirror: nil, metrics: metrics,
                  holds: holds, logger: logger, blockingPool: blockingPool, clock: clock)
    }

    init(configuration: SidecarConfiguration, gate: RequestGate, upstream: UpstreamEngine, spool: AuditSpool, mirror: AuditMirror?,
         metrics: SidecarMetrics, holds: any HoldGate, logger: Logger, blockingPool: NIOThreadPool,
         clock: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.gate = gate
        self.upstream = upstream
        self.spool = spool
        self.mirror = mirror
        auditPublicKey = spool.publicKey.description
        self.metrics = metrics
        self.holds = holds
        self.logger = logger
        self.blockingPool = blockingPool
        self.clock = clock
    }

    /// False once the spool failed to store a record (not for a full spool,
    /// which passes): the sidecar then refuses requests (fails closed) and
    /// /readyz reports it.
    public var auditHealthy: Bool { !auditFailed.load(ordering: .relaxed) }

    /// Why a request is refused before any work, or nil when the audit
    /// trail can take it: a failed spool, or a full one (until space
    /// returns). A refusal is counted as a write that could not happen
    /// (`rein_audit_write_failures_total`), and a spool that became full is
    /// logged once, whichever path found it full first.
    func auditRefusal() -> String? {
        if !auditHealthy {
            metrics.auditWriteFailure(kind: "storage")
            return "Rein cannot write its audit trail, so it forwards nothing (fail closed)"
        }
        let stats = spool.stats
        guard stats.full, !configuration.auditDropWhenFull else { return nil }
        noteFull(stats)
        return spoolFullMessage(stats)
    }

    private func noteFull(_ stats: SpoolStats) {
        metrics.auditWriteFailure(kind: "full")
        if !spoolWasFull.exchange(true, ordering: .relaxed) {
            logger.error("audit spool full: refusing requests until records are shipped", metadata: [
                "spool.bytes": "\(stats.bytes)", "spool.max_bytes": "\(stats.maxBytes)",
                "collector": "\(configuration.collector.url ?? "none configured")",
            ])
        }
    }

    /// What the agent reads when the spool is full.
    func spoolFullMessage(_ stats: SpoolStats) -> String {
        let until = configuration.collector.url == nil
            ? "until space is freed (no collector is configured to ship it to)" : "until the collector catches up"
        return "Rein's audit spool is full (\(stats.bytes) of \(stats.maxBytes) bytes); it forwards nothing \(until)"
    }

    /// The answer for a request refused because its audit record could not
    /// be written: full, or failed.
    func auditFailureMessage(_ error: any Error) -> String {
        if let e = error as? AuditSpoolError {
            switch e {
            case .full: return spoolFullMessage(spool.stats)
            case .diskFull: return Self.diskFullMessage
            default: break
            }
        }
        return "Rein cannot write its audit trail, so it forwards nothing (fail closed)"
    }

    /// What the agent reads when the disk under the spool is full.
    static let diskFullMessage = "Rein cannot write its audit trail: the disk under its audit spool is full; "
        + "it forwards nothing until space is freed there (fail closed)"

    /// Seals `record` into the spool (completing `ticket`, the call's
    /// intent, when given). The future succeeds once the record is durable
    /// (or was dropped by the operator's `drop_when_full`), and fails when it
    /// could not be stored; the caller then answers 503 and forwards nothing.
    func record(_ record: AuditRecord, completing ticket: IntentTicket? = nil, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        let done: @Sendable (Result<SealedRecord, AuditSpoolError>) -> Void = { [self] result in
            switch result {
            case .success:
                spoolWasFull.store(false, ordering: .relaxed)
                promise.succeed()
            case .failure(let error):
                if ticket != nil, record.forwarded {
                    // The call went upstream and its intent is on disk; what
                    // AWS answered is only here now: say it in the log, as the
                    // intent will be sealed "outcome unknown" at the next start
                    // (for a full disk, the spool holds the record and seals
                    // it once there is room, unless the sidecar stops first).
                    let held = if case .diskFull = error { true } else { false }
                    logger.error(held ? "the outcome of a forwarded call waits for room on the spool's disk"
                                      : "the outcome of a forwarded call could not be recorded", metadata: [
                        "audit.record_id": "\(record.recordId)", "aws.operation": "\(record.operation ?? "?")",
                        "upstream.status": "\(record.upstreamStatus.map(String.init) ?? "none")",
                        "aws.request_id": "\(record.awsRequestId ?? "none")", "aws.error_code": "\(record.errorCode ?? "none")",
                        "bytes.in": "\(record.bytesIn)", "bytes.out": "\(record.bytesOut)", "audit.error": "\(error)",
                    ])
                }
                if auditFailure(error) { promise.fail(error) } else { promise.succeed() }
            }
        }
        if let ticket {
            spool.complete(ticket, with: record, completion: done)
        } else {
            spool.append(record, completion: done)
        }
        return promise.futureResult
    }

    /// Makes the intent of a call about to be forwarded durable. The future
    /// gives the ticket to complete afterwards (nil when `drop_when_full`
    /// dropped it) and fails when nothing may be forwarded.
    func recordIntent(_ record: AuditRecord, on eventLoop: any EventLoop) -> EventLoopFuture<IntentTicket?> {
        let promise = eventLoop.makePromise(of: IntentTicket?.self)
        spool.appendIntent(record) { [self] result in
            switch result {
            case .success(let ticket):
                spoolWasFull.store(false, ordering: .relaxed)
                promise.succeed(ticket)
            case .failure(.dropped):
                // Not counted here: the call's record decides whether anything
                // was lost (counted once, when that record is dropped too).
                promise.succeed(nil)
            case .failure(let error):
                if auditFailure(error) { promise.fail(error) } else { promise.succeed(nil) }
            }
        }
        return promise.futureResult
    }

    /// Counts and logs a failed write; true when the request must fail
    /// (false for a record the operator chose to drop).
    private func auditFailure(_ error: AuditSpoolError) -> Bool {
        switch error {
        case .dropped:
            metrics.auditDropped()
            return false
        case .full:
            noteFull(spool.stats)
            return true
        case .diskFull:
            // Passes once space is freed (the spool logs the episode), so
            // not latched: the next call tries again.
            metrics.auditWriteFailure(kind: "disk_full")
            return true
        default:
            metrics.auditWriteFailure(kind: "storage")
            auditFailed.store(true, ordering: .relaxed)
            logger.error("audit write failed; refusing further requests", metadata: ["audit.error": "\(error)"])
            return true
        }
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
