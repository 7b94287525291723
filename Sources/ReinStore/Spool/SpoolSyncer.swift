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
/// WAL, which makes every frame written before the call durable, and only
/// then runs the group's completions. While it waits, the writer commits
/// the next group, and one `fdatasync` covers every group that committed
/// meanwhile. A completion still means exactly what it meant with FULL: the
/// commit survives power loss. SQLite itself still syncs the WAL header
/// when it restarts the WAL, and the database file at checkpoints.
///
/// The WAL is found by path and reopened when its inode changes (SQLite
/// deletes it when the last connection closes); after a reopen the database
/// file is synced too, as it holds whatever the old WAL held.
final class SpoolSyncer: @unchecked Sendable {
    // Why @unchecked is safe: `pending`, `stopping` and `stopped` are read
    // and written only while `condition` is locked; `walFD` and `walInode`
    // belong to whichever thread syncs (the syncer thread, or the caller of
    // `syncNow` before that thread starts); `durable` and `thread` are
    // Synchronization types; everything else is immutable.

    /// A committed group: the chain head it committed and what to run once durable.
    struct Group {
        let sequence: Int64
        let deliver: (AuditSpoolError?) -> Void
    }

    private let databasePath: String
    private let enabled: Bool
    private let logger: Logger
    private let condition = NSCondition()
    private var pending: [Group] = []
    private var stopping = false
    private var stopped = false
    private var walFD: Int32 = -1
    private var walInode: ino_t = 0
    private let thread = Mutex<pthread_t?>(nil)
    /// The highest sequence known durable: the shipper sends nothing above it.
    let durable: Atomic<Int64>
    /// fdatasync calls, for the benchmark's groups-per-sync figure.
    let syncs = Atomic<Int64>(0)

    /// - Parameter syncs: false for `synchronous = NORMAL` (benchmarks):
    ///   groups are delivered in order without any `fdatasync`.
    init(databasePath: String, syncs enabled: Bool, durableSequence: Int64, logger: Logger) {
        self.databasePath = databasePath
        self.enabled = enabled
        self.logger = logger
        durable = Atomic(durableSequence)
    }

    deinit { if walFD >= 0 { close(walFD) } }

    func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "rein.audit-sync"
        thread.start()
    }

    var isSyncerThread: Bool {
        thread.withLock { t in t.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
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
        thread.withLock { $0 = pthread_self() }
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

    /// `fdatasync` of the WAL (and of the database after a reopen); the
    /// error when the commits written so far may not be durable.
    func syncNow() -> AuditSpoolError? {
        guard enabled else { return nil }
        syncs.add(1, ordering: .relaxed)
        let walPath = databasePath + "-wal"
        var info = stat()
        let reopened: Bool
        if stat(walPath, &info) != 0 {
            // No WAL: everything was checkpointed into the database (and the
            // WAL removed); make sure the database is on disk.
            if walFD >= 0 { close(walFD) }
            walFD = -1
            return syncFile(databasePath, what: "the audit spool database")
        }
        var held = stat()
        let gone = walFD >= 0 && (fstat(walFD, &held) != 0 || held.st_nlink == 0) // deleted, its inode maybe reused
        if walFD < 0 || gone || info.st_ino != walInode {
            if walFD >= 0 { close(walFD) }
            walFD = open(walPath, O_RDONLY | O_CLOEXEC)
            walInode = info.st_ino
            reopened = true
            guard walFD >= 0 else { return failure("open the WAL to sync it", errno) }
        } else {
            reopened = false
        }
        guard fdatasync(walFD) == 0 else { return failure("sync the WAL", errno) }
        if reopened { return syncFile(databasePath, what: "the audit spool database") }
        return nil
    }

    private func syncFile(_ path: String, what: String) -> AuditSpoolError? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return failure("open \(what) to sync it", errno) }
        defer { close(fd) }
        guard fdatasync(fd) == 0 else { return failure("sync \(what)", errno) }
        return nil
    }

    private func failure(_ operation: String, _ code: Int32) -> AuditSpoolError {
        let reason = String(cString: strerror(code))
        logger.error("audit spool sync failed: commits may not be durable", metadata: [
            "audit.spool": "\(databasePath)", "audit.operation": "\(operation)", "audit.error": "\(reason)",
        ])
        return .storage(path: databasePath, operation: operation, reason: reason)
    }
}
