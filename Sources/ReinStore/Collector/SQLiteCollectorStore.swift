import Foundation
import GRDB
import Logging
import ReinAudit
import Synchronization

/// The collector's embedded store: one SQLite database in WAL mode with
/// full synchronous commits (``SQLiteStore/open(path:)``).
///
/// Why SQLite: one file, no server to run, and with one transaction per
/// batch and prepared statements it ingests about 50k verified, indexed
/// records/s on two cores (Benchmarks/results/collector.md). Readers (queries, long-polls, verification) never block the
/// writer. Concerns live in extensions: `+Ingest`, `+Query`, `+Verify`,
/// `+Fleet`, `+Policies`, `+Retention`; the schema is in `+Schema`.
public final class SQLiteCollectorStore: CollectorStore {
    let pool: DatabasePool
    /// One process per store: a second would verify chains against heads it
    /// did not write and fork the collector's own chain (``DatabaseLock``).
    private let lock: DatabaseLock
    let logger: Logger
    public let path: String
    /// Below this many records after a query's cursor, the query scans them
    /// rather than use an index or the zone map (a tail).
    let tailSpan: Int64
    private let checkpointer: WALCheckpointer

    /// What the WAL checkpointer did (log restarts and how long they held the writer), for benchmarks.
    public var checkpointStats: WALCheckpointer.Stats { checkpointer.stats }
    /// Concurrent ingest calls share transactions (``IngestGroupCommit``).
    let groupCommit = IngestGroupCommit()
    /// The writer commits with `synchronous = NORMAL`; every write returns
    /// only after this has made it durable (``WALFileSync``).
    let durability: WALFileSync
    /// Set by a write that failed for a full disk, cleared by the next one
    /// that commits (``diskFull``).
    private let diskWasFull = Atomic<Bool>(false)

    /// Opens (creating and migrating if needed) the database at `path`.
    public convenience init(path: String, logger: Logger = Logger(label: "rein.collector.store")) throws(CollectorStoreError) {
        try self.init(path: path, logger: logger, tailSpan: 20_000)
    }

    /// Tests set `tailSpan` to exercise every query plan on small data.
    init(path: String, logger: Logger, tailSpan: Int64) throws(CollectorStoreError) {
        self.path = path
        self.logger = logger
        self.tailSpan = tailSpan
        durability = WALFileSync(databasePath: path)
        do {
            lock = try SQLiteStore.lockForWriting(path)
        } catch {
            throw .database(operation: "lock", message: error.underlying)
        }
        do {
            try WALSyncFault.recover(databasePath: path, logger: logger)
        } catch {
            throw .database(operation: "recover", message: error.description)
        }
        do {
            try SQLiteStore.prepareFile(path)
        } catch {
            throw .database(operation: "create", message: error.description)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        if size == 0 {
            // The page size is fixed when the file is created, before WAL mode.
            do {
                let queue = try DatabaseQueue(path: path)
                try queue.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                }
                try queue.close()
            } catch {
                throw .database(operation: "create", message: String(describing: error))
            }
        }
        do {
            pool = try SQLiteStore.open(path: path)
        } catch {
            throw .database(operation: "open", message: error.description)
        }
        do {
            try pool.writeWithoutTransaction { db in
                // The ingest writer walks several indexes per record: a 64 MiB
                // page cache keeps their hot pages in memory.
                try db.execute(sql: "PRAGMA cache_size = -65536")
                // Durability comes from `durability`, after the commit and outside the writer.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            try SQLiteStore.migrate(Self.migrator, pool)
            try WALCheckpointer.disableAutomaticCheckpoints(pool)
        } catch {
            throw .database(operation: "migrate", message: String(describing: error))
        }
        checkpointer = WALCheckpointer(path: path, durability: durability, logger: logger)
        do {
            try checkpointer.start()
        } catch {
            throw .database(operation: "open the WAL checkpoint connection", message: String(describing: error))
        }
    }

    deinit { checkpointer.stop() }

    public func close() {
        checkpointer.stop()
        // After a failed sync, folding the log into the file could leave the
        // file newer than the log a crash replays over it: the next start
        // writes the file and the log anew instead (``WALSyncFault``).
        SQLiteStore.close(pool, checkpoint: durability.fault == nil, logger: logger)
        lock.release()
    }

    public var durabilityFault: String? { durability.fault?.description }

    public var diskFull: Bool { diskWasFull.load(ordering: .relaxed) }

    /// Runs `body` in a write transaction and makes it durable, mapping errors.
    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws(CollectorStoreError) -> T {
        if let refusal = faultRefusal(operation) { throw refusal }
        let result: T
        do {
            result = try pool.write { db in try body(db) }
        } catch let error as CollectorStoreError {
            throw error
        } catch {
            throw writeFailure(operation, error)
        }
        noteCommitted(diskFull: false)
        if let failure = syncCommitted(operation) { throw failure }
        return result
    }

    /// The store's error for a write SQLite refused. A full disk is told
    /// apart (``CollectorStoreError/full(operation:)``): it passes once
    /// space is freed, and the collector says so to callers and operators.
    func writeFailure(_ operation: String, _ error: any Error) -> CollectorStoreError {
        if SQLiteStore.isDiskFull(error) {
            diskWasFull.store(true, ordering: .relaxed)
            return .full(operation: operation)
        }
        return .database(operation: operation, message: String(describing: error))
    }

    /// A transaction committed; `diskFull` when a batch inside it was still
    /// refused for a full disk (its savepoint rolled back).
    func noteCommitted(diskFull: Bool) {
        diskWasFull.store(diskFull, ordering: .relaxed)
    }

    /// Tests: caps the database at its current size, or lifts the cap.
    /// SQLite's `max_page_count` refuses a growing write with `SQLITE_FULL`,
    /// exactly as a full disk does.
    func capSizeForTesting(_ on: Bool) throws {
        try SQLiteStore.capSizeForTesting(pool, on)
    }

    /// The refusal of a write once a sync has failed: nothing more is
    /// committed onto a log the disk may have lost frames of.
    func faultRefusal(_ operation: String) -> CollectorStoreError? {
        durability.fault.map { .unavailable("\(operation): not written: \($0)") }
    }

    /// Makes every commit so far durable; the error when that failed.
    func syncCommitted(_ operation: String) -> CollectorStoreError? {
        guard let failure = durability.sync() else { return nil }
        logger.error("collector store sync failed: commits may not be durable", metadata: [
            "store.operation": "\(operation)", "store.error": "\(failure)",
        ])
        return .database(operation: operation, message: "committed but not confirmed durable: \(failure)")
    }

    /// Runs `body` in a read transaction (a consistent snapshot), mapping errors.
    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws(CollectorStoreError) -> T {
        do {
            return try pool.read { db in try body(db) }
        } catch let error as CollectorStoreError {
            throw error
        } catch {
            throw .database(operation: operation, message: String(describing: error))
        }
    }
}
