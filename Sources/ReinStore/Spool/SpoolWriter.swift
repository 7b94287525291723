import Foundation
import GRDB
import Logging
import ReinAudit
import ReinCrypto
import Synchronization

/// The one thread that writes a spool, committing queued operations in
/// groups; a second one (``SpoolSyncer``) makes each commit durable and
/// then runs its completions.
///
/// Why one thread and group commit: a durable commit costs an fsync, which
/// is far more than sealing a record. Callers queue operations; the writer
/// takes everything queued, seals and inserts it in one transaction, commits
/// once, and only then calls each completion. Under load one fsync covers
/// many requests; alone, a request pays exactly one. The fsync happens on
/// the syncer thread while the writer commits the next group. One writer also makes
/// the chain order, the byte count and the checkpoint cadence plain
/// sequential code.
final class SpoolWriter: @unchecked Sendable {
    // Why @unchecked is safe: `queue`, `closing` and `stopped` are read and
    // written only while `condition` is locked; `state`, `lastCheckpointAt`
    // and `threaded` belong to the writer thread (and to `init` and `start`,
    // before the thread starts; `start` sets `threaded` and `close` reads it
    // while `condition` is locked); `published` is a Mutex; everything else
    // is immutable.

    enum Operation {
        /// Records come encoded by the caller (``PreparedRecord``): only sealing them needs the chain.
        case append(PreparedRecord, @Sendable (Result<SealedRecord, AuditSpoolError>) -> Void)
        /// An intent's record id and line (encoded by the caller: it does not depend on the chain).
        case intent(String, [UInt8], @Sendable (Result<IntentTicket, AuditSpoolError>) -> Void)
        case complete(IntentTicket, PreparedRecord, @Sendable (Result<SealedRecord, AuditSpoolError>) -> Void)
        /// Through this sequence; checkpoints only up to this id (the last one handed out).
        case acknowledge(Int64, Int64, @Sendable (Result<Int, AuditSpoolError>) -> Void)
        case checkpoint(@Sendable (Result<AuditCheckpoint?, AuditSpoolError>) -> Void)

        func fail(_ error: AuditSpoolError) {
            switch self {
            case .append(_, let c), .complete(_, _, let c): c(.failure(error))
            case .intent(_, _, let c): c(.failure(error))
            case .acknowledge(_, _, let c): c(.failure(error))
            case .checkpoint(let c): c(.failure(error))
            }
        }
    }

    /// What the writer knows; copied per group and kept only if the group commits.
    struct State {
        var chain: AuditChain
        var records: Int64
        var intents: Int64
        var checkpoints: Int64
        var bytes: Int64
        /// Records sealed since the last checkpoint.
        var sinceCheckpoint: Int
        /// The sequence the last checkpoint named.
        var checkpointedSequence: Int64
        /// The size of the last refused record, until it would fit again.
        var refusedNeed: Int?
        var dropped: Int64
        var commits: Int64 = 0
        /// This group deleted shipped records or checkpoints: `meta` must keep the head.
        var deletedShipped = false
    }

    let configuration: AuditSpoolConfiguration
    private let pool: DatabasePool
    private let logger: Logger
    private let onDurable: (@Sendable ([SealedRecord]) -> Void)?
    private let clock = ContinuousClock()

    private let condition = NSCondition()
    private var queue: [Operation] = []
    private var closing = false
    private var stopped = false

    private var state: State
    private var lastCheckpointAt: ContinuousClock.Instant
    private var lastDropLog: ContinuousClock.Instant?
    /// A full disk under the spool: the episode, and the outcomes held for it.
    private var diskFull = SpoolDiskFull()
    let published: Mutex<SpoolStats>
    private let thread = SpoolThread()
    let syncer: SpoolSyncer
    /// Set by `start`: before it (recovery in `init`), groups sync and deliver inline.
    private var threaded = false

    init(configuration: AuditSpoolConfiguration, pool: DatabasePool, contents: SpoolSchema.Contents, durability: WALFileSync, logger: Logger,
         onDurable: (@Sendable ([SealedRecord]) -> Void)?) {
        self.configuration = configuration
        self.pool = pool
        self.logger = logger
        self.onDurable = onDurable
        state = State(chain: contents.chain, records: contents.records, intents: contents.intents, checkpoints: contents.checkpoints,
                      bytes: contents.bytes, sinceCheckpoint: Int(contents.chain.lastSequence - contents.lastCheckpointSequence),
                      checkpointedSequence: contents.lastCheckpointSequence, refusedNeed: nil, dropped: 0)
        lastCheckpointAt = clock.now
        published = Mutex(SpoolStats())
        syncer = SpoolSyncer(file: durability, syncs: configuration.fullSync,
                             durableSequence: contents.chain.lastSequence, logger: logger)
        publish()
    }

    /// Starts the writer and syncer threads.
    func start() {
        condition.lock()
        threaded = true
        condition.unlock()
        syncer.start()
        let thread = Thread { [self] in
            Thread.current.name = "rein-spool" // set on the thread itself: Linux applies it only there (15 bytes at most)
            self.loop()
        }
        thread.start()
    }

    /// Queues an operation; fails it at once when the spool is closing.
    func enqueue(_ op: Operation) {
        condition.lock()
        if closing {
            condition.unlock()
            op.fail(.closed(path: configuration.path))
            return
        }
        queue.append(op)
        condition.signal()
        condition.unlock()
    }

    /// CPU time the thread has used (nil before it starts), for benchmarks.
    var cpuSeconds: Double? { thread.cpuSeconds }

    /// True on the writer or syncer thread (inside a completion), where
    /// waiting for the writer would wait forever.
    var isWriterThread: Bool {
        syncer.isSyncerThread || thread.isCurrent
    }

    /// Commits what is queued, writes a last checkpoint, stops the thread;
    /// waits for all that unless called on the writer thread itself. A
    /// writer never started (the spool's open failed while sealing a
    /// previous run's intents, e.g. on a full disk) has nothing to wait for:
    /// waiting would hang the process instead of letting it exit with the error.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        if !threaded { stopped = true }
        if !isWriterThread {
            while !stopped { condition.wait() }
        }
        condition.unlock()
    }

    /// Runs operations on the calling thread: for recovery in `init`, before
    /// the writer thread exists.
    func runNow(_ ops: [Operation]) { run(ops) }

    // MARK: - The thread

    private func loop() {
        thread.enter()
        while true {
            condition.lock()
            while queue.isEmpty && !closing {
                guard let deadline = checkpointDeadline() else {
                    condition.wait()
                    continue
                }
                if !condition.wait(until: deadline) { break }
            }
            if queue.isEmpty && closing {
                condition.unlock()
                // A last try for outcomes held for a full disk; what still
                // does not fit is sealed "outcome unknown" at the next start.
                if diskFull.holdsOutcomes { run([]) }
                break
            }
            if !queue.isEmpty {
                condition.unlock()
                configuration.onBusy?()
                syncer.waitForRoom()
                condition.lock()
            }
            let batch: [Operation]
            if queue.count <= configuration.maxGroupSize {
                batch = queue
                queue.removeAll(keepingCapacity: true)
            } else {
                batch = Array(queue.prefix(configuration.maxGroupSize))
                queue.removeFirst(configuration.maxGroupSize)
            }
            condition.unlock()
            run(batch) // empty: woken for a time-based checkpoint
        }
        // Sign the head on the way out, so a clean stop leaves nothing unsigned.
        run([.checkpoint({ _ in })])
        syncer.stop()
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// When the time-based checkpoint is due, if the head moved since the last one.
    private func checkpointDeadline() -> Date? {
        guard state.chain.lastSequence > state.checkpointedSequence else { return nil }
        let remaining = configuration.checkpointInterval - (clock.now - lastCheckpointAt)
        let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
        return Date(timeIntervalSinceNow: max(0, seconds))
    }

    // MARK: - One group, one transaction

    private func run(_ queued: [Operation]) {
        let timeDue = state.chain.lastSequence > state.checkpointedSequence && clock.now - lastCheckpointAt >= configuration.checkpointInterval
        if queued.isEmpty && !timeDue && !diskFull.holdsOutcomes { return }
        // (No new array on the common path: nothing is held.)
        let ops = diskFull.holdsOutcomes ? diskFull.takeHeld(logger: logger) + queued : queued
        if let fault = syncer.fault {
            // Nothing more is committed onto a log the disk may have lost
            // frames of (``WALFileSync``): the ops fail unwritten, in order.
            let failure = AuditSpoolError.storage(path: configuration.path, operation: "write \(ops.count) audit operation(s)",
                                                  reason: "not written: \(fault)")
            hand(SpoolSyncer.Group(sequence: state.chain.lastSequence) { _ in for op in ops { op.fail(failure) } })
            return
        }
        var work = state
        var checkpointAt = lastCheckpointAt
        var sealed: [SealedRecord] = []
        var deliveries: [(AuditSpoolError?) -> Void] = []
        deliveries.reserveCapacity(ops.count)
        do {
            try pool.writeWithoutTransaction { db in
                // BEGIN and COMMIT run as prepared statements, and the hot
                // statements are looked up once per group: GRDB's
                // `inTransaction` parses its SQL on every call.
                let statements = try GroupStatements(db)
                try statements.begin.run()
                do {
                    for op in ops {
                        deliveries.append(try apply(op, db: db, statements: statements, work: &work, sealed: &sealed,
                                                    checkpointAt: &checkpointAt))
                    }
                    if work.chain.lastSequence > work.checkpointedSequence, clock.now - checkpointAt >= configuration.checkpointInterval {
                        _ = try writeCheckpoint(db: db, work: &work, checkpointAt: &checkpointAt)
                    }
                    // The stored records and checkpoints carry the head; `meta`
                    // needs it only when acknowledgement deletes them (SpoolSchema).
                    if work.deletedShipped {
                        try SpoolSchema.saveHead(db, sidecarId: configuration.sidecarId, chain: work.chain,
                                                 checkpointSequence: work.checkpointedSequence)
                        work.deletedShipped = false
                    }
                    try statements.commit.run()
                } catch {
                    // A failed COMMIT may leave the transaction open; ROLLBACK
                    // after an automatic rollback fails harmlessly.
                    try? statements.rollback.run()
                    throw error
                }
            }
        } catch {
            let failure: AuditSpoolError
            if SQLiteStore.isDiskFull(error) {
                failure = .diskFull(path: configuration.path, operation: "commit \(ops.count) audit operation(s)")
                diskFull.refused(ops, at: clock.now, path: configuration.path, logger: logger)
            } else {
                let reason = String(describing: error)
                failure = .storage(path: configuration.path, operation: "commit \(ops.count) audit operation(s)", reason: reason)
                logger.error("audit spool commit failed", metadata: ["audit.spool": "\(configuration.path)", "audit.error": "\(reason)"])
            }
            publish()
            // Through the syncer too, so that callers hear in commit order.
            hand(SpoolSyncer.Group(sequence: state.chain.lastSequence) { _ in for op in ops { op.fail(failure) } })
            return
        }
        diskFull.committed(at: clock.now, path: configuration.path, logger: logger)
        work.commits += 1
        state = work
        lastCheckpointAt = checkpointAt
        publish()
        let onDurable = onDurable
        let group = SpoolSyncer.Group(sequence: work.chain.lastSequence) { failure in
            if failure == nil, !sealed.isEmpty { onDurable?(sealed) }
            for deliver in deliveries { deliver(failure) }
        }
        hand(group)
    }

    /// Gives a committed (or failed) group to the syncer; before the threads
    /// start (recovery), syncs and delivers it here.
    private func hand(_ group: SpoolSyncer.Group) {
        if threaded {
            syncer.submit(group)
        } else {
            syncer.deliver([group], after: syncer.syncNow())
        }
    }

    /// Applies one operation inside the group's transaction and returns what
    /// to tell its caller once the transaction has committed. Problems that
    /// concern only this operation (no space, a record that cannot be
    /// encoded) fail it alone, before any SQL; an SQLite error fails the
    /// whole group, which rolls back (no savepoint per operation: they cost
    /// more than the inserts). The returned closure gets the sync's failure,
    /// if any: then the commit may not be durable, and every operation of
    /// the group fails with it.
    private func apply(_ op: Operation, db: Database, statements: GroupStatements, work: inout State, sealed: inout [SealedRecord],
                       checkpointAt: inout ContinuousClock.Instant) throws -> (AuditSpoolError?) -> Void {
        func deliver<T>(_ result: Result<T, AuditSpoolError>, _ completion: @escaping @Sendable (Result<T, AuditSpoolError>) -> Void)
            -> (AuditSpoolError?) -> Void {
            { failure in completion(failure.map { .failure($0) } ?? result) }
        }
        switch op {
        case .append(let record, let completion):
            let result = try seal(record, statements: statements, work: &work, ticket: nil, capped: true)
            if case .success(let s) = result {
                sealed.append(s)
                try checkpointIfCounted(db: db, work: &work, checkpointAt: &checkpointAt)
            }
            return deliver(result, completion)
        case .complete(let ticket, let record, let completion):
            let result = try seal(record, statements: statements, work: &work, ticket: ticket, capped: false)
            if case .success(let s) = result {
                sealed.append(s)
                try checkpointIfCounted(db: db, work: &work, checkpointAt: &checkpointAt)
            }
            return deliver(result, completion)
        case .intent(let recordId, let line, let completion):
            return deliver(try storeIntent(recordId: recordId, line: line, statements: statements, work: &work), completion)
        case .acknowledge(let through, let checkpointId, let completion):
            return deliver(.success(try acknowledge(through: through, checkpointId: checkpointId, db: db, work: &work)), completion)
        case .checkpoint(let completion):
            let checkpoint = work.chain.lastSequence > work.checkpointedSequence
                ? try writeCheckpoint(db: db, work: &work, checkpointAt: &checkpointAt) : nil
            return deliver(.success(checkpoint), completion)
        }
    }

    /// Seals `record` into the chain and inserts it; with a ticket, deletes
    /// the intent in the same transaction. Completing an intent is never
    /// refused for space: the call already went out, and its intent reserved
    /// about as much as its record needs.
    private func seal(_ record: PreparedRecord, statements: GroupStatements, work: inout State, ticket: IntentTicket?, capped: Bool) throws
        -> Result<SealedRecord, AuditSpoolError> {
        var chain = work.chain
        let s = chain.seal(record)
        if capped, let refusal = refuse(recordId: record.recordId, size: s.line.count, work: &work) {
            return .failure(refusal)
        }
        // Bound through the C API (GRDB's argument boxing was a sixth of the
        // writer's time), without copies: the values outlive the step.
        let insert = statements.insertRecord
        insert.reset()
        insert.bind(1, s.sequence)
        try insert.withBound(2, bytes: s.line) { try insert.run() }
        if let ticket {
            let delete = statements.deleteIntent
            delete.reset()
            delete.bind(1, ticket.id)
            try delete.run()
            if delete.changes > 0 {
                work.intents -= 1
                work.bytes -= ticket.bytes
            }
        }
        work.chain = chain
        work.records += 1
        work.bytes += Int64(s.line.count)
        work.sinceCheckpoint += 1
        return .success(s)
    }

    private func storeIntent(recordId: String, line: [UInt8], statements: GroupStatements, work: inout State) throws
        -> Result<IntentTicket, AuditSpoolError> {
        if let refusal = refuse(recordId: recordId, size: line.count, work: &work) { return .failure(refusal) }
        let insert = statements.insertIntent
        insert.reset()
        insert.bind(1, recordId)
        insert.bind(2, bytes: line)
        insert.bind(3, AuditRecord.timestamp(configuration.now()))
        try insert.run()
        let id = insert.lastInsertedRowID
        work.intents += 1
        work.bytes += Int64(line.count)
        return .success(IntentTicket(id: id, recordId: recordId, bytes: Int64(line.count)))
    }

    /// The refusal (or drop) when `size` more bytes would pass the cap; nil when they fit.
    private func refuse(recordId: String, size: Int, work: inout State) -> AuditSpoolError? {
        guard work.bytes + Int64(size) > configuration.maxBytes else { return nil }
        work.refusedNeed = size
        guard configuration.dropWhenFull else {
            return .full(needed: size, used: work.bytes, max: configuration.maxBytes)
        }
        work.dropped += 1
        let now = clock.now
        if lastDropLog.map({ now - $0 >= .seconds(10) }) ?? true {
            lastDropLog = now
            logger.warning("audit spool full: dropping records (drop_when_full is set)", metadata: [
                "audit.spool": "\(configuration.path)", "audit.record_id": "\(recordId)",
                "audit.dropped": "\(work.dropped)", "audit.bytes": "\(work.bytes)", "audit.max_bytes": "\(configuration.maxBytes)",
            ])
        }
        return .dropped(recordId: recordId, used: work.bytes, max: configuration.maxBytes)
    }

    private func acknowledge(through: Int64, checkpointId: Int64, db: Database, work: inout State) throws -> Int {
        var deleted = 0
        for (table, condition) in [("records", "seq <= ?"), ("checkpoints", "seq <= ? AND id <= ?")] {
            let arguments: StatementArguments = table == "records" ? [through] : [through, checkpointId]
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(LENGTH(line)), 0) FROM \(table) WHERE \(condition)", arguments: arguments)
            let count: Int64 = row?[0] ?? 0
            let bytes: Int64 = row?[1] ?? 0
            guard count > 0 else { continue }
            try db.execute(sql: "DELETE FROM \(table) WHERE \(condition)", arguments: arguments)
            work.deletedShipped = true
            work.bytes -= bytes
            if table == "records" {
                work.records -= count
                deleted = Int(count)
            } else {
                work.checkpoints -= count
            }
        }
        if let need = work.refusedNeed, work.bytes + Int64(need) <= configuration.maxBytes { work.refusedNeed = nil }
        return deleted
    }

    private func checkpointIfCounted(db: Database, work: inout State, checkpointAt: inout ContinuousClock.Instant) throws {
        guard work.sinceCheckpoint >= configuration.checkpointEveryRecords else { return }
        _ = try writeCheckpoint(db: db, work: &work, checkpointAt: &checkpointAt)
    }

    /// Signs the current head and stores the checkpoint. A signing failure
    /// is logged and skipped (the records still count); a storage failure
    /// fails the group.
    private func writeCheckpoint(db: Database, work: inout State, checkpointAt: inout ContinuousClock.Instant) throws -> AuditCheckpoint? {
        let checkpoint: AuditCheckpoint
        let line: [UInt8]
        do {
            checkpoint = try AuditCheckpoint.sign(sidecarId: configuration.sidecarId, sequence: work.chain.lastSequence,
                                                  hash: work.chain.lastHash, time: AuditRecord.timestamp(configuration.now()),
                                                  key: configuration.signingKey)
            line = try checkpoint.jsonLine()
        } catch {
            logger.error("cannot sign an audit checkpoint", metadata: ["audit.sequence": "\(work.chain.lastSequence)", "audit.error": "\(error)"])
            // Try again after the next interval or N records, not at every record.
            work.sinceCheckpoint = 0
            checkpointAt = clock.now
            return nil
        }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO checkpoints (seq, line) VALUES (?, ?)")
            .execute(arguments: [checkpoint.sequence, Data(line)])
        if db.changesCount > 0 {
            work.checkpoints += 1
            work.bytes += Int64(line.count)
        }
        work.sinceCheckpoint = 0
        work.checkpointedSequence = checkpoint.sequence
        checkpointAt = clock.now
        return checkpoint
    }

    private func publish() {
        let s = state
        let max = configuration.maxBytes
        let full = s.bytes >= max || s.refusedNeed.map { s.bytes + Int64($0) > max } ?? false
        published.withLock {
            $0 = SpoolStats(records: s.records, bytes: s.bytes, intents: s.intents, checkpoints: s.checkpoints,
                            lastSequence: s.chain.lastSequence, lastHash: s.chain.lastHash, maxBytes: max, dropped: s.dropped, full: full,
                            commits: s.commits)
            $0.diskFull = diskFull.since != nil
            $0.heldOutcomes = diskFull.heldCount
        }
    }
}
