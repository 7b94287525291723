import Foundation
import Logging
import Synchronization

/// Makes committed spool groups durable off the writer thread, then tells
/// their callers.
///
/// Why: with `synchronous = FULL`, SQLite fsyncs the WAL inside every
/// commit, and the writer can do nothing else meanwhile; on the target
/// machine that wait was half of each group's time. Instead the writer
/// commits with `synchronous = NORMAL` (the WAL frames are written, not
/// synced) and hands the group here; this thread calls `fdatasync` on the
/// WAL (``WALFileSync``), which makes every frame written before the call
/// durable, and only then runs the group's completions. While it waits, the writer commits
/// the next group, and one `fdatasync` covers every group that committed
/// meanwhile. A completion still means exactly what it meant with FULL: the
/// commit survives power loss.
final class SpoolSyncer: @unchecked Sendable {
    // Why @unchecked is safe: `pending`, `stopping` and `stopped` are read
    // and written only while `condition` is locked; `durable` and the
    // counters are atomics, `thread` is Sendable; everything else is immutable.

    /// A committed group: the chain head it committed and what to run once durable.
    struct Group {
        let sequence: Int64
        let deliver: (AuditSpoolError?) -> Void
    }

    private let file: WALFileSync
    private let enabled: Bool
    private let logger: Logger
    private let condition = NSCondition()
    private var pending: [Group] = []
    private var stopping = false
    private var stopped = false
    private let thread = SpoolThread()
    /// The highest sequence known durable: the shipper sends nothing above it.
    let durable: Atomic<Int64>
    /// fdatasync calls, for the benchmark's groups-per-sync figure.
    let syncs = Atomic<Int64>(0)
    /// Wall time spent in those calls, for the benchmark's time-per-sync figure.
    let syncNanoseconds = Atomic<Int64>(0)

    /// - Parameter syncs: false for `synchronous = NORMAL` (benchmarks):
    ///   groups are delivered in order without any `fdatasync`.
    init(file: WALFileSync, syncs enabled: Bool, durableSequence: Int64, logger: Logger) {
        self.file = file
        self.enabled = enabled
        self.logger = logger
        durable = Atomic(durableSequence)
    }

    func start() {
        let thread = Thread { [self] in
            Thread.current.name = "rein-spool-sync" // set on the thread itself: Linux applies it only there (15 bytes at most)
            self.loop()
        }
        thread.start()
    }

    /// CPU time the thread has used (nil before it starts), for benchmarks.
    var cpuSeconds: Double? { thread.cpuSeconds }

    /// The log's fault, once a sync failed (``WALFileSync/fault``).
    var fault: WALFileSync.Failure? { enabled ? file.fault : nil }

    var isSyncerThread: Bool {
        thread.isCurrent
    }

    func submit(_ group: Group) {
        condition.lock()
        pending.append(group)
        condition.signal()
        condition.unlock()
    }

    /// Returns once no committed group waits for a sync: the next commit
    /// will ride the next sync. Why the writer waits for this: a group
    /// committed while another already waits would be synced by the same
    /// `fdatasync` anyway, so committing both separately only pays a second
    /// commit; waiting lets everything queued meanwhile share one.
    func waitForRoom() {
        condition.lock()
        while !pending.isEmpty && !stopping { condition.wait() }
        condition.unlock()
    }

    /// Syncs and delivers everything submitted, then stops the thread; waits
    /// for that unless called on the syncer thread itself (from a completion).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        if !isSyncerThread {
            while !stopped { condition.wait() }
        }
        condition.unlock()
    }

    private func loop() {
        thread.enter()
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let groups = pending
            pending.removeAll(keepingCapacity: true)
            condition.broadcast() // the writer may be waiting for room
            condition.unlock()
            deliver(groups, after: syncNow())
        }
    }

    /// Runs the groups' completions in commit order, after `failure` or none.
    func deliver(_ groups: [Group], after failure: AuditSpoolError?) {
        if failure == nil, let last = groups.last { durable.store(last.sequence, ordering: .releasing) }
        for group in groups { group.deliver(failure) }
    }

    /// `fdatasync` of the WAL (``WALFileSync``); the error when the commits
    /// written so far may not be durable.
    func syncNow() -> AuditSpoolError? {
        guard enabled else { return nil }
        syncs.add(1, ordering: .relaxed)
        let started = DispatchTime.now().uptimeNanoseconds
        let result = file.sync()
        syncNanoseconds.add(Int64(DispatchTime.now().uptimeNanoseconds - started), ordering: .relaxed)
        guard let failure = result else { return nil }
        logger.error("audit spool sync failed: commits may not be durable", metadata: [
            "audit.spool": "\(file.databasePath)", "audit.operation": "\(failure.operation)", "audit.error": "\(failure.reason)",
        ])
        return .storage(path: file.databasePath, operation: failure.operation, reason: failure.reason)
    }
}
