import Foundation
import GRDB
import Logging
import ReinAudit
import ReinCrypto
import Synchronization

/// The sidecar's durable audit spool: a SQLite (WAL) file that holds the
/// sealed hash chain, the intents of calls in flight and the signed
/// checkpoints until the collector acknowledges them.
///
/// Why it exists: the promise is that a forwarded call is never
/// unrecorded. The sidecar writes an intent and waits for it to be durable
/// before sending anything upstream, and completes it with the sealed record
/// afterwards; denials are sealed before the answer leaves. A crash leaves,
/// at worst, an intent, which the next ``init(configuration:logger:onDurable:)``
/// seals as a record whose outcome is unknown.
///
/// Writes go through one writer thread with group commit (``SpoolWriter``),
/// and one syncer thread that makes each commit durable (``SpoolSyncer``);
/// the asynchronous calls never block the caller, and their completions run
/// on the syncer thread once the write is durable (or has failed), so they
/// must be short and must not call the blocking wrappers. Reads for the
/// shipper (``pendingBatch(maxRecords:maxBytes:)``) run on the caller's
/// thread against a WAL snapshot and never wait for the writer.
public final class AuditSpool: Sendable {
    public let path: String
    public let sidecarId: String
    /// The checkpoint key's public half, to register with the collector.
    public let publicKey: Ed25519PublicKey
    /// How many intents a previous run left behind (sealed as outcome-unknown records at open).
    public let recoveredIntents: Int
    public let maxBytes: Int64

    private let pool: DatabasePool
    /// One process per spool: a second writer would fork the chain (``DatabaseLock``).
    private let lock: DatabaseLock
    private let writer: SpoolWriter
    private let checkpointer: WALCheckpointer
    /// Syncs the log for the writer; its fault, once a sync failed, fails every later write.
    let durability: WALFileSync
    private let closed = Atomic<Bool>(false)
    /// The highest checkpoint id the last batch could carry: acknowledging
    /// deletes no checkpoint written after that batch was read.
    private let handedOutCheckpoint = Atomic<Int64>(0)

    /// Opens (creating if needed) the spool, continues the stored chain and
    /// seals any intents a crash left, then starts the writer.
    ///
    /// `onDurable` runs on the syncer thread after each commit is durable, with the
    /// records it made durable in chain order (the sidecar mirrors them to a
    /// readable JSONL file); it must be quick.
    public init(configuration: AuditSpoolConfiguration, logger: Logger = Logger(label: "rein.audit-spool"),
                onDurable: (@Sendable ([SealedRecord]) -> Void)? = nil) throws(AuditSpoolError) {
        let path = configuration.path
        self.path = path
        sidecarId = configuration.sidecarId
        publicKey = configuration.signingKey.publicKey
        maxBytes = configuration.maxBytes
        durability = WALFileSync(databasePath: path)
        do {
            lock = try SQLiteStore.lockForWriting(path)
        } catch {
            throw .open(path: path, reason: error.underlying)
        }
        do {
            try WALSyncFault.recover(databasePath: path, logger: logger)
        } catch {
            throw .open(path: path, reason: error.description)
        }
        do {
            pool = try SQLiteStore.open(path: path)
        } catch {
            throw .open(path: path, reason: error.underlying)
        }
        var contents: SpoolSchema.Contents
        let orphans: [(id: Int64, recordId: String, line: [UInt8])]
        do {
            // The writer commits without syncing; with `fullSync` the
            // syncer thread makes each commit durable before its callers
            // hear of it (``SpoolSyncer``).
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            try WALCheckpointer.disableAutomaticCheckpoints(pool)
            contents = try pool.write { db -> SpoolSchema.Contents in
                try SpoolSchema.create(db, path: path)
                var c = try SpoolSchema.load(db)
                if c.sidecarId != configuration.sidecarId {
                    if let stored = c.sidecarId, !c.isEmpty {
                        throw AuditSpoolError.sidecarMismatch(path: path, stored: stored, configured: configuration.sidecarId)
                    }
                    // A new or fully shipped spool: start this sidecar's own chain.
                    c.chain = AuditChain()
                    c.lastCheckpointSequence = 0
                    try db.execute(sql: "DELETE FROM checkpoints")
                    try SpoolSchema.saveHead(db, sidecarId: configuration.sidecarId, chain: c.chain, checkpointSequence: 0)
                    c.sidecarId = configuration.sidecarId
                }
                return c
            }
            orphans = try pool.read { db in try SpoolSchema.intents(db) }
        } catch let error as AuditSpoolError {
            throw error
        } catch {
            throw .open(path: path, reason: String(describing: error))
        }
        writer = SpoolWriter(configuration: configuration, pool: pool, contents: contents, durability: durability, logger: logger,
                             onDurable: onDurable)
        checkpointer = WALCheckpointer(path: path, durability: durability, logger: logger)
        recoveredIntents = orphans.count
        if !orphans.isEmpty {
            let failure = Box<AuditSpoolError?>(nil)
            writer.runNow(orphans.map { orphan in
                .complete(IntentTicket(id: orphan.id, recordId: orphan.recordId, bytes: Int64(orphan.line.count)),
                          PreparedRecord(Self.recovered(orphan.line, recordId: orphan.recordId, configuration: configuration)),
                          { result in if case .failure(let e) = result { failure.value.withLock { $0 = $0 ?? e } } })
            })
            switch failure.value.withLock({ $0 }) {
            case .diskFull?:
                // Held by the writer and sealed once there is room; the
                // sidecar starts and refuses calls until then (no crash loop).
                logger.error("intents left by a previous run cannot be sealed yet: the disk under the spool is full", metadata: [
                    "audit.spool": "\(path)", "audit.recovered_intents": "\(orphans.count)",
                ])
            case let first?:
                throw first
            case nil:
                logger.warning("sealed intents left by a previous run: their calls' outcomes are unknown", metadata: [
                    "audit.spool": "\(path)", "audit.recovered_intents": "\(orphans.count)",
                ])
            }
        }
        writer.start()
        do {
            try checkpointer.start()
        } catch {
            throw .open(path: path, reason: "cannot open the WAL checkpoint connection: \(error)")
        }
    }

    deinit { close() }

    // MARK: - Writing (asynchronous)

    /// Seals `record` into the chain and stores it; `completion` runs once
    /// it is durable. Refused with ``AuditSpoolError/full(needed:used:max:)``
    /// when it would pass the cap (``AuditSpoolError/dropped(recordId:used:max:)``
    /// with `dropWhenFull`).
    /// The record is encoded here, on the caller's thread (``PreparedRecord``).
    public func append(_ record: AuditRecord, completion: @escaping @Sendable (Result<SealedRecord, AuditSpoolError>) -> Void) {
        writer.enqueue(.append(PreparedRecord(record), completion))
    }

    /// Stores `record` as the intent of a call about to be forwarded (not
    /// chained yet); `completion` gets the ticket once it is durable.
    public func appendIntent(_ record: AuditRecord, completion: @escaping @Sendable (Result<IntentTicket, AuditSpoolError>) -> Void) {
        // Encoded here, on the caller's thread: an intent is not chained, so
        // the writer need not spend its time on it.
        let line: [UInt8]
        do { line = try record.jsonLine() } catch {
            completion(.failure(.encoding(recordId: record.recordId, reason: String(describing: error))))
            return
        }
        writer.enqueue(.intent(record.recordId, line, completion))
    }

    /// In one transaction, deletes the intent and seals `record` (the call's
    /// outcome) into the chain. Never refused for space.
    public func complete(_ ticket: IntentTicket, with record: AuditRecord,
                         completion: @escaping @Sendable (Result<SealedRecord, AuditSpoolError>) -> Void) {
        writer.enqueue(.complete(ticket, PreparedRecord(record), completion))
    }

    // MARK: - Writing (blocking, for tests and the CLI; never from a completion)

    @discardableResult
    public func append(_ record: AuditRecord) throws(AuditSpoolError) -> SealedRecord {
        try wait { append(record, completion: $0) }
    }

    public func appendIntent(_ record: AuditRecord) throws(AuditSpoolError) -> IntentTicket {
        try wait { appendIntent(record, completion: $0) }
    }

    @discardableResult
    public func complete(_ ticket: IntentTicket, with record: AuditRecord) throws(AuditSpoolError) -> SealedRecord {
        try wait { complete(ticket, with: record, completion: $0) }
    }

    /// Signs a checkpoint of the current head now (nil when the head has not
    /// moved since the last one).
    @discardableResult
    public func checkpoint() throws(AuditSpoolError) -> AuditCheckpoint? {
        try wait { writer.enqueue(.checkpoint($0)) }
    }

    // MARK: - Shipping

    /// The oldest unshipped lines: up to `maxRecords` records and about
    /// `maxBytes` (always at least one record), each followed by the
    /// checkpoint that names it. Empty when nothing waits. Only durable
    /// records go: one committed but not yet synced could be lost to a power
    /// cut after the collector had it, and the restarted chain would then
    /// contradict what the collector holds.
    public func pendingBatch(maxRecords: Int, maxBytes: Int) throws(AuditSpoolError) -> SpoolBatch {
        guard !closed.load(ordering: .relaxed) else { throw .closed(path: path) }
        let limit = max(1, maxRecords)
        let durable = writer.syncer.durable.load(ordering: .acquiring)
        do {
            return try pool.read { db -> SpoolBatch in
                var records: [(Int64, [UInt8])] = []
                var bytes = 0
                let cursor = try Row.fetchCursor(db, sql: "SELECT seq, line FROM records WHERE seq <= ? ORDER BY seq LIMIT ?",
                                                 arguments: [durable, limit])
                while let row = try cursor.next() {
                    let line = [UInt8](row["line"] as Data)
                    if !records.isEmpty, bytes + line.count > maxBytes { break }
                    bytes += line.count
                    records.append((row["seq"], line))
                }
                // Checkpoints up to the last record; with no records, those left on their own.
                let through: Int64
                if let last = records.last?.0 {
                    through = last
                } else {
                    through = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM checkpoints WHERE seq <= ?", arguments: [durable]) ?? 0
                }
                let checkpoints = try Row.fetchAll(db, sql: "SELECT seq, line FROM checkpoints WHERE seq <= ? ORDER BY seq", arguments: [through])
                    .map { row -> (Int64, [UInt8]) in (row["seq"], [UInt8](row["line"] as Data)) }
                handedOutCheckpoint.store(try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM checkpoints") ?? 0, ordering: .relaxed)
                var lines: [[UInt8]] = []
                lines.reserveCapacity(records.count + checkpoints.count)
                var c = 0
                for (seq, line) in records {
                    while c < checkpoints.count, checkpoints[c].0 < seq {
                        lines.append(checkpoints[c].1)
                        c += 1
                    }
                    lines.append(line)
                    while c < checkpoints.count, checkpoints[c].0 == seq {
                        lines.append(checkpoints[c].1)
                        c += 1
                    }
                }
                lines += checkpoints[c...].map(\.1)
                return SpoolBatch(lines: lines, recordCount: records.count, throughSequence: through)
            }
        } catch {
            throw .storage(path: path, operation: "read a batch to ship", reason: String(describing: error))
        }
    }

    /// Deletes records and checkpoints up to `throughSequence`, after the
    /// collector acknowledged the last batch ``pendingBatch(maxRecords:maxBytes:)``
    /// handed out; returns how many records went. A checkpoint signed after
    /// that batch was read stays, and goes with the next batch. The chain
    /// head is kept, so the next record continues the chain.
    @discardableResult
    public func acknowledge(throughSequence: Int64) throws(AuditSpoolError) -> Int {
        let checkpointId = handedOutCheckpoint.load(ordering: .relaxed)
        return try wait { writer.enqueue(.acknowledge(throughSequence, checkpointId, $0)) }
    }

    /// The highest sequence known durable (what the shipper may send).
    var durableSequence: Int64 { writer.syncer.durable.load(ordering: .acquiring) }

    /// `fdatasync` calls since open (with `fullSync`): fewer than commits
    /// when one sync covers several groups.
    public var syncs: Int64 { writer.syncer.syncs.load(ordering: .relaxed) }

    /// CPU time used so far by the writer and syncer threads (nil until
    /// they run), so that a benchmark can say where a request's cost goes.
    public var threadCPUSeconds: (writer: Double, syncer: Double)? {
        guard let w = writer.cpuSeconds, let s = writer.syncer.cpuSeconds else { return nil }
        return (w, s)
    }

    /// Wall time spent in those `fdatasync` calls, in seconds.
    public var syncSeconds: Double { Double(writer.syncer.syncNanoseconds.load(ordering: .relaxed)) / 1e9 }

    /// What the WAL checkpointer did (log restarts and how long they held the writer), for benchmarks.
    public var checkpointStats: WALCheckpointer.Stats { checkpointer.stats }

    /// Why nothing written is known durable any more, once a sync of the
    /// log failed (``WALFileSync/fault``): every write fails until a restart.
    public var durabilityFault: String? { durability.fault?.description }

    /// Tests: makes the spool's database refuse to grow (`SQLITE_FULL`, as a
    /// full disk does), or lifts that.
    func capSizeForTesting(_ on: Bool) throws {
        try SQLiteStore.capSizeForTesting(pool, on)
    }

    /// Sizes, chain head and whether the spool is full, as of the last commit.
    public var stats: SpoolStats { writer.published.withLock { $0 } }

    /// Commits everything queued, signs a last checkpoint when the head
    /// moved, and closes the database. Later writes fail with `.closed`.
    public func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        // From a completion the writer cannot be waited for: it drains and
        // stops on its own, and the database closes when it lets go.
        let waits = !writer.isWriterThread
        checkpointer.stop()
        writer.close()
        if waits {
            try? pool.close()
            lock.release()
        } // else the lock goes with this spool, after the writer let go of the database
    }

    // MARK: - Helpers

    /// The record an orphaned intent becomes: its decision kept, its outcome unknown.
    static func recovered(_ line: [UInt8], recordId: String, configuration: AuditSpoolConfiguration) -> AuditRecord {
        let reason = "the outcome of this call was never recorded (the sidecar stopped, or could not write its audit trail); "
            + "the call may have been forwarded"
        guard var record = try? JSONDecoder().decode(AuditRecord.self, from: Data(line)) else {
            var r = AuditRecord(recordId: recordId, time: AuditRecord.timestamp(configuration.now()),
                                sidecarId: configuration.sidecarId, via: "unknown", decision: "error")
            r.reason = reason + " (its intent could not be read)"
            r.errorCode = "OutcomeUnknown"
            return r
        }
        record.reason = reason + (record.reason.map { " (decided: \($0))" } ?? "")
        record.errorCode = "OutcomeUnknown"
        return record
    }

    /// Waits for an asynchronous operation's completion.
    private func wait<T: Sendable>(_ submit: (@escaping @Sendable (Result<T, AuditSpoolError>) -> Void) -> Void) throws(AuditSpoolError) -> T {
        guard !writer.isWriterThread else {
            throw .storage(path: path, operation: "wait for its writer",
                           reason: "a blocking call was made from the spool's own thread (a completion); use the asynchronous API there")
        }
        let done = DispatchSemaphore(value: 0)
        let box = Box<Result<T, AuditSpoolError>?>(nil)
        submit { result in
            box.value.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = box.value.withLock({ $0 }) else { throw .closed(path: "(no answer)") }
        return try result.get()
    }
}

/// A value shared with a completion closure (a Mutex cannot be captured by one).
private final class Box<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ initial: T) { value = Mutex(initial) }
}
