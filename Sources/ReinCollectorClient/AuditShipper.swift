import Foundation
import Logging
import Synchronization

/// Moves a sidecar's spooled audit records to the collector: batches capped
/// by count, bytes and time, gzip over libcurl, at-least-once.
///
/// Why this shape: records leave the spool only after the collector's 200
/// says they are durable there, so a crash on either side re-sends at worst
/// (the collector drops duplicates by record id). Failures back off
/// exponentially with full jitter so a fleet does not stampede a collector
/// that just came back. Registration (the checkpoint key) happens before the
/// first batch, and heartbeats ride on the same thread.
public final class AuditShipper: Sendable {
    public struct Settings: Sendable {
        public var maxRecords: Int
        public var maxBytes: Int
        /// Seconds between shipments when fewer than `maxRecords` are waiting.
        public var interval: Double
        public var heartbeatInterval: Double
        public var backoffBase: Double
        public var backoffMax: Double

        public init(maxRecords: Int = 1000, maxBytes: Int = 8 << 20, interval: Double = 1, heartbeatInterval: Double = 15,
                    backoffBase: Double = 0.5, backoffMax: Double = 30) {
            self.maxRecords = maxRecords
            self.maxBytes = maxBytes
            self.interval = interval
            self.heartbeatInterval = heartbeatInterval
            self.backoffBase = backoffBase
            self.backoffMax = backoffMax
        }
    }

    /// What the shipper has done, for metrics, readiness and logs.
    public struct Status: Sendable, Equatable {
        public var registered = false
        public var shippedRecords: Int64 = 0
        public var shippedBatches: Int64 = 0
        /// Failed rounds in a row (registration, heartbeat or shipment); 0 after any round that worked.
        public var consecutiveFailures = 0
        public var lastError: String?
        /// When the collector last acknowledged a batch.
        public var lastSuccess: Date?
        /// When a round last went through (a batch, a heartbeat, or nothing to send).
        public var lastContact: Date?
    }

    private struct State {
        var limits: BatchLimits
        var running = false
        var stopping = false
        var wake = false
        var status = Status()
    }

    private let client: CollectorClient
    private let sidecarId: String
    private let spool: any ShippableSpool
    private let settings: Settings
    private let logger: Logger
    private let registration: CollectorMessages.Registration?
    private let heartbeat: (@Sendable () -> CollectorMessages.Heartbeat)?
    private let state: Mutex<State>
    private let condition = NSCondition()

    public init(client: CollectorClient, sidecarId: String, spool: any ShippableSpool, settings: Settings = Settings(),
                registration: CollectorMessages.Registration?, heartbeat: (@Sendable () -> CollectorMessages.Heartbeat)?,
                logger: Logger) {
        self.client = client
        self.sidecarId = sidecarId
        self.spool = spool
        self.settings = settings
        state = Mutex(State(limits: BatchLimits(records: settings.maxRecords, bytes: settings.maxBytes)))
        self.registration = registration
        self.heartbeat = heartbeat
        self.logger = logger
    }

    public var status: Status { state.withLock { $0.status } }

    /// Starts the shipping thread (once).
    public func start() {
        let started = state.withLock { s -> Bool in
            if s.running { return false }
            s.running = true
            return true
        }
        guard started else { return }
        let thread = Thread { [self] in
            Thread.current.name = "rein-shipper" // set on the thread itself: Linux applies it only there (15 bytes at most)
            run()
        }
        thread.start()
    }

    /// Stops the thread after its current call, then (with `drain`) ships
    /// what is still spooled from the caller's thread, all within `deadline`
    /// seconds, and sends a last heartbeat saying it stops (``farewell(until:)``).
    /// The thread is waited for first so that two shipments never take the
    /// same batch at once.
    public func stop(drain: Bool = true, deadline: Double = 5) {
        let end = Date().addingTimeInterval(deadline)
        condition.lock()
        state.withLock {
            $0.stopping = true
            $0.wake = true
        }
        condition.broadcast()
        condition.unlock()
        while state.withLock({ $0.running }), Date() < end { Thread.sleep(forTimeInterval: 0.01) }
        guard drain, !state.withLock({ $0.running }) else { return }
        while Date() < end, (try? shipOnce()) == true {}
        farewell(until: end)
    }

    /// The last heartbeat, `stopping: true`. With the spool empty the
    /// collector shows this sidecar `stopped` instead of flagging it silent
    /// once its pod is gone; with records left it says how many, and they
    /// ship when the sidecar starts again with the same state directory.
    /// Given at least a second even past `end`: a pod's grace period
    /// (30 s by default) leaves room, and without it the sidecar is
    /// alerted as silent.
    private func farewell(until end: Date) {
        guard let heartbeat, state.withLock({ $0.status.registered }) else { return }
        var last = heartbeat()
        last.stopping = true
        if last.spoolDepth > 0 {
            logger.warning("stopping with audit records not shipped; they ship when this sidecar starts again with the same state_dir", metadata: [
                "audit.spool_depth": "\(last.spoolDepth)", "collector": "\(client.baseURL)",
            ])
        }
        do {
            try client.heartbeat(last, timeout: max(1, min(3, end.timeIntervalSinceNow)))
            logger.info("told the collector this sidecar is stopping", metadata: ["audit.spool_depth": "\(last.spoolDepth)"])
        } catch {
            logger.warning("could not tell the collector this sidecar is stopping; it will show as silent", metadata: [
                "collector": "\(client.baseURL)", "error": "\(error)",
            ])
        }
    }

    /// Sleeps up to `seconds` unless stopped; returns false when stopping.
    private func pause(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let until = Date().addingTimeInterval(seconds)
        while true {
            let (stopping, woken) = state.withLock { s -> (Bool, Bool) in
                let w = s.wake
                s.wake = false
                return (s.stopping, w)
            }
            if stopping { return false }
            if woken || !condition.wait(until: until) { return !state.withLock { $0.stopping } }
        }
    }

    private func run() {
        var nextHeartbeat = Date()
        var backoff = 0
        while !state.withLock({ $0.stopping }) {
            do {
                let wasRegistered = state.withLock { $0.status.registered }
                try ensureRegistered()
                // Records first: a heartbeat the collector refuses must never be what keeps them spooled.
                var more = true
                var shipped = false
                while more, !state.withLock({ $0.stopping }) {
                    more = try shipOnce()
                    shipped = shipped || more
                }
                var beat = false
                if let heartbeat, Date() >= nextHeartbeat {
                    nextHeartbeat = Date().addingTimeInterval(settings.heartbeatInterval)
                    try client.heartbeat(heartbeat())
                    beat = true
                }
                backoff = 0
                // Contact means an exchange that worked this round, not a quiet one.
                let contacted = shipped || beat || !wasRegistered
                state.withLock {
                    $0.status.consecutiveFailures = 0
                    $0.status.lastError = nil
                    if contacted { $0.status.lastContact = Date() }
                }
                if !pause(settings.interval) { break }
            } catch {
                if let refused = error as? CollectorClientError, refused.status == 409 {
                    // The collector no longer knows this sidecar as registered (its
                    // database was lost or the id was rebound): register again next round.
                    state.withLock { $0.status.registered = false }
                }
                backoff += 1
                var delay = Self.backoffDelay(attempt: backoff, base: settings.backoffBase, max: settings.backoffMax)
                if let refused = error as? CollectorClientError {
                    // A collector shedding load says how long to stay away (up to 5 minutes).
                    if let asked = refused.retryAfter { delay = max(delay, min(asked, 300)) }
                    if refused.status == 413 { shrinkBatches() }
                }
                let text = "\(error)"
                state.withLock {
                    $0.status.consecutiveFailures = backoff
                    $0.status.lastError = text
                }
                logger.warning(Self.failureMessage(error), metadata: [
                    "collector": "\(client.baseURL)", "error": "\(text)", "retry_in_s": "\(String(format: "%.2f", delay))",
                    "attempt": "\(backoff)",
                ])
                if !pause(delay) { break }
            }
        }
        state.withLock { $0.running = false }
    }

    /// Halves the batch limits after a 413 (``BatchLimits``).
    private func shrinkBatches() {
        let limits = state.withLock { s -> BatchLimits in
            s.limits.shrink()
            return s.limits
        }
        logger.warning("the collector, or a proxy before it, refused a batch as too large; sending smaller ones", metadata: [
            "batch.max_records": "\(limits.records)", "batch.max_bytes": "\(limits.bytes)",
        ])
    }

    private func ensureRegistered() throws {
        guard let registration, !state.withLock({ $0.status.registered }) else { return }
        let receipt = try client.register(registration)
        // Only this collector's acceptance of this sidecar's key counts (a 200 saying
        // "mismatch", or naming another sidecar, is not one).
        guard receipt.sidecarId == sidecarId, ["registered", "matches"].contains(receipt.keyStatus) else {
            throw CollectorClientError(kind: .notAcknowledged, message: "the collector's answer to the registration of \(sidecarId) does not accept it "
                                       + "(sidecar_id \(receipt.sidecarId ?? "missing"), key_status \(receipt.keyStatus)); nothing is shipped")
        }
        state.withLock { $0.status.registered = true }
        logger.info("registered with the collector", metadata: [
            "collector": "\(client.baseURL)", "sidecar_id": "\(sidecarId)", "key_status": "\(receipt.keyStatus)",
            "public_key": "\(registration.publicKey)",
        ])
    }

    /// Ships one batch; true when one was shipped (so more may be waiting).
    /// Never before the collector accepted the registration (the key the
    /// chain's checkpoints are signed with), whichever thread ships.
    @discardableResult
    public func shipOnce() throws -> Bool {
        try ensureRegistered()
        let limits = state.withLock { $0.limits }
        guard let batch = try spool.nextShipment(maxRecords: limits.records, maxBytes: limits.bytes) else { return false }
        let receipt = try client.ship(sidecarId: sidecarId, lines: batch.lines)
        if let problem = Self.acknowledgementProblem(receipt, batch: batch, sidecarId: sidecarId) {
            throw CollectorClientError(kind: .notAcknowledged, message: "the collector's 200 does not acknowledge the batch through sequence "
                                       + "\(batch.throughSequence) (\(problem)); the records stay spooled")
        }
        try spool.acknowledgeShipment(throughSequence: batch.throughSequence)
        if let held = receipt.throughSequence, held < batch.throughSequence {
            // The collector stores every line it is sent (a gap or an edit
            // becomes a finding there), so a lower answer means the lines'
            // own sequences disagree with the spool's: say so, loudly.
            logger.error("the collector's chain for this sidecar ends before the batch it acknowledged", metadata: [
                "collector.through_sequence": "\(held)", "spool.through_sequence": "\(batch.throughSequence)",
            ])
        }
        let grew = state.withLock { $0.limits.succeeded() ? $0.limits : nil }
        if let grew {
            logger.notice("batches go through again; sending larger ones", metadata: [
                "batch.max_records": "\(grew.records)", "batch.max_bytes": "\(grew.bytes)",
            ])
        }
        state.withLock {
            $0.status.shippedRecords += Int64(batch.recordCount)
            $0.status.shippedBatches += 1
            $0.status.consecutiveFailures = 0
            $0.status.lastError = nil
            $0.status.lastSuccess = Date()
        }
        if receipt.findings > 0 {
            logger.error("the collector flagged integrity findings in a shipped batch", metadata: [
                "findings": "\(receipt.findings)", "through_sequence": "\(batch.throughSequence)",
            ])
        }
        logger.debug("shipped audit batch", metadata: [
            "records": "\(batch.recordCount)", "accepted": "\(receipt.accepted)", "duplicates": "\(receipt.duplicates)",
            "through_sequence": "\(batch.throughSequence)",
        ])
        return true
    }

    /// Why `receipt` is not the collector's acknowledgement of `batch`, or
    /// nil when it is. Records leave the spool only on one: a 200 from a
    /// proxy, a cache or a collector of another sidecar must not delete
    /// them (nor empty a full spool so that calls flow again). The
    /// collector answers the highest record sequence of the batch; a spool
    /// whose lines were edited (their sequences no longer the rows') is
    /// acknowledged when every record was taken, so that it is not retried
    /// for ever. A receipt without `sidecar_id` (a collector from before it
    /// named one) is judged by its sequence and counts alone.
    static func acknowledgementProblem(_ receipt: CollectorMessages.BatchReceipt, batch: Shipment, sidecarId: String) -> String? {
        if let named = receipt.sidecarId, named != sidecarId { return "it names sidecar \(named)" }
        guard let through = receipt.throughSequence else { return "it has no through_sequence" }
        guard receipt.accepted >= 0, receipt.duplicates >= 0, receipt.checkpoints >= 0, receipt.findings >= 0,
              receipt.accepted + receipt.duplicates <= batch.recordCount
        else { return "its counts do not fit a batch of \(batch.recordCount) records" }
        guard through >= batch.throughSequence || receipt.accepted + receipt.duplicates == batch.recordCount else {
            return "it took \(receipt.accepted + receipt.duplicates) of \(batch.recordCount) records, through sequence \(through)"
        }
        return nil
    }

    /// What a failed round was, in words: an unreachable collector, one
    /// that refused the sidecar, one that failed, or the spool itself.
    static func failureMessage(_ error: any Error) -> Logger.Message {
        switch (error as? CollectorClientError)?.kind {
        case .unreachable?: "cannot reach the collector; the records stay spooled"
        case .accessDenied?, .rejected?, .notFound?, .configuration?: "the collector refused the sidecar; the records stay spooled"
        case .server?, .protocolError?: "the collector failed to take the batch; the records stay spooled"
        case .notAcknowledged?: "the collector's answer acknowledged nothing; the records stay spooled"
        case nil: "could not ship from the audit spool; the records stay spooled"
        }
    }

    /// Exponential backoff with full jitter: uniform in [d/2, d], d = min(max, base·2^(n−1)).
    public static func backoffDelay(attempt: Int, base: Double, max: Double) -> Double {
        let exp = base * pow(2, Double(Swift.min(attempt, 30) - 1))
        let d = Swift.min(max, exp)
        return Double.random(in: (d / 2)...d)
    }
}
