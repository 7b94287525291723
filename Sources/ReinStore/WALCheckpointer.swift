import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// Copies a WAL database's log back into the main file on its own thread
/// and connection, so that no commit pays for it.
///
/// Why: by default SQLite runs a checkpoint inside the commit that pushes
/// the log past 1,000 pages. With full synchronous commits that one commit
/// then writes and fsyncs megabytes, and every request queued behind it
/// waits: on the sidecar this was the whole p99 regression of the durable
/// spool. The owner turns automatic checkpoints off on its writer
/// (``disableAutomaticCheckpoints(_:)``) and starts one of these, which runs
/// a PASSIVE checkpoint (it never blocks the writer or readers) every
/// `interval`. The log still restarts from its beginning once a checkpoint
/// has copied all of it, so its size stays bounded by what is written per
/// interval. Closing the last connection checkpoints what is left.
///
/// Why a round ends the way it does (``round(_:backoff:)``): a busy writer appends
/// while a PASSIVE checkpoint copies, so the log is never fully copied and
/// never restarts on its own. A RESTART checkpoint makes it restart, but it
/// holds the write lock while it copies what is left and fsyncs the
/// database file, and SQLite syncs that file only when a checkpoint has
/// caught up with the whole log: that is, only inside the RESTART, with
/// every page the round's PASSIVE checkpoints copied still to write. On the
/// spool benchmark that held the writer 11–31 ms in every 200 ms round
/// (a fifth of a second of every second spent stalled, with SQLite's own
/// busy ladder on top: ``SQLiteBusyWait``). So the round first repeats
/// PASSIVE checkpoints until one finds little new (each copies what was
/// appended during the last), then syncs the database file itself while
/// the writer goes on, and only then runs the RESTART, which is left a few
/// frames to copy and a few pages to sync: about a millisecond.
///
/// Once the owner's log sync has failed (``WALFileSync/fault``), rounds stop:
/// a checkpoint would copy into the database file frames that may be missing
/// from the log on disk, and a crash would then leave the file newer than the
/// log SQLite replays over it. A checkpoint whose own sync fails (SQLite
/// syncs the log before copying, and the database file after) latches the
/// same fault.
public final class WALCheckpointer: Sendable {
    private let path: String
    private let interval: Duration
    private let logger: Logger
    private let durability: WALFileSync?
    private let state = Mutex<State>(State())
    private let wake = NSCondition()
    /// About 4 MiB of 4 KiB pages: SQLite's own automatic threshold is 1,000.
    static let restartFrames = 1000
    /// A catching-up PASSIVE round that finds fewer new frames than this is close enough.
    static let catchUpFrames = 128
    /// At most this many catching-up rounds: a writer that outpaces the copy
    /// must not keep the log from restarting.
    static let maxCatchUps = 8
    /// How long a RESTART waits for a lock: first for the writer's current
    /// commit, then, holding the write lock (so the writer waits too), for
    /// readers still on an older snapshot. Past it, the RESTART gives up.
    static let restartPatience: Duration = .milliseconds(100)
    /// After a RESTART that gave up, this many rounds at most pass before the next one tries.
    static let maxRestartBackoff = 16

    /// What the rounds did, for benchmarks.
    public struct Stats: Sendable, Equatable {
        public var rounds = 0
        /// RESTART checkpoints run (the log starts over after each that gets its locks in time).
        public var restarts = 0
        /// Of those, the ones that gave up: the writer's commit, or a reader of an older snapshot, outlasted `restartPatience`.
        public var busyRestarts = 0
        /// PASSIVE rounds run to catch up before a RESTART.
        public var catchUps = 0
        /// Wall time inside RESTART checkpoints, in all and at most: waiting
        /// for the write lock, then holding it (the writer waits meanwhile).
        public var restartNanoseconds: UInt64 = 0
        public var longestRestartNanoseconds: UInt64 = 0
    }

    private let counters = Mutex(Stats())

    /// What the rounds did so far.
    public var stats: Stats { counters.withLock { $0 } }

    private struct State {
        var stopped = false
        var started = false
        var finished = false
    }

    /// Rounds to let pass before the next RESTART, after RESTARTs that gave up (checkpoint thread only).
    private struct Backoff {
        var rounds = 0
        var skipped = 0
    }

    /// `interval` bounds how much log a round finds: about what the writer
    /// commits in that time.
    /// `durability` is the owner's log sync, whose fault stops the rounds.
    public init(path: String, interval: Duration = .milliseconds(200), durability: WALFileSync? = nil, logger: Logger) {
        self.path = path
        self.interval = interval
        self.durability = durability
        self.logger = logger
    }

    /// Turns off SQLite's in-commit checkpoints on the writer connection.
    public static func disableAutomaticCheckpoints(_ pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
    }

    /// One round: copy the log into the database file, and once the log is
    /// past `restartFrames`, make it start over without holding the writer
    /// for long (see the type's comment).
    ///
    /// Why the backoff: a reader that keeps an old snapshot for long (a
    /// verification of a large range) keeps the log from restarting, and
    /// every RESTART that waits for it holds the writer for
    /// `restartPatience`. After one gives up, the next waits one round, then
    /// two, four… up to `maxRestartBackoff`; the log grows meanwhile, as it
    /// must while that reader reads it.
    private func round(_ db: Database, backoff: inout Backoff) throws {
        var frames = try passive(db)
        counters.withLock { $0.rounds += 1 }
        guard frames > Self.restartFrames else { return }
        if backoff.skipped < backoff.rounds {
            backoff.skipped += 1
            return
        }
        var catchUps = 0
        while catchUps < Self.maxCatchUps {
            let now = try passive(db)
            catchUps += 1
            // The log's length went from `frames` to `now` while the last round copied.
            let appended = now - frames
            frames = now
            if appended < Self.catchUpFrames { break }
        }
        switch Self.syncDatabaseFileResult(db) {
        case nil:
            logger.debug("could not sync the database file before a WAL restart; the RESTART syncs it", metadata: ["sqlite.path": "\(path)"])
        case let code? where code != SQLITE_OK:
            // The write-back of pages just copied failed: the file may now
            // lack them for good, so no RESTART may drop them from the log.
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "fdatasync of the database file failed")
        default:
            break
        }
        _ = try passive(db)
        let started = DispatchTime.now().uptimeNanoseconds
        // Returns (busy, frames in the log, frames copied); busy when it gave up.
        let busy = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(RESTART)")?[0] as Int? ?? 0
        let took = DispatchTime.now().uptimeNanoseconds - started
        backoff.skipped = 0
        backoff.rounds = busy != 0 ? min(max(1, backoff.rounds * 2), Self.maxRestartBackoff) : 0
        counters.withLock {
            if busy != 0 { $0.busyRestarts += 1 }
            $0.restarts += 1
            $0.catchUps += catchUps
            $0.restartNanoseconds += took
            $0.longestRestartNanoseconds = max($0.longestRestartNanoseconds, took)
        }
    }

    /// A PASSIVE checkpoint (it never waits for the writer); returns the log's length in frames.
    private func passive(_ db: Database) throws -> Int {
        // Returns (busy, frames in the log, frames copied).
        try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")?[1] ?? 0
    }

    /// Syncs the database file through SQLite's own descriptor of it
    /// (`SQLITE_FCNTL_FILE_POINTER`, then its VFS's `xSync` as `fdatasync`).
    /// Why not a descriptor of our own: closing any descriptor of a file
    /// drops every POSIX lock the process holds on it, SQLite's included
    /// (see ``WALFileSync``). Returns false when SQLite has no such file
    /// (an in-memory database) or the sync failed.
    static func syncDatabaseFile(_ db: Database) -> Bool {
        syncDatabaseFileResult(db) == SQLITE_OK
    }

    /// The result of that sync: nil when SQLite has no such file.
    static func syncDatabaseFileResult(_ db: Database) -> Int32? {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let found = withUnsafeMutablePointer(to: &file) {
            sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_FILE_POINTER, $0)
        }
        guard found == SQLITE_OK, let file, let sync = file.pointee.pMethods?.pointee.xSync else { return nil }
        return sync(file, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY)
    }

    /// Starts the checkpoint thread (once).
    public func start() throws {
        var configuration = Configuration()
        configuration.busyMode = SQLiteBusyWait.mode(limit: Self.restartPatience)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in
            Thread.current.name = "rein-wal-ckpt" // set on the thread itself: Linux applies it only there (15 bytes at most)
            run(queue)
        }
        thread.stackSize = 1 << 20
        let started = state.withLock { s -> Bool in
            guard !s.started, !s.stopped else { return false }
            s.started = true
            return true
        }
        if started { thread.start() } else { try? queue.close() }
    }

    /// Stops the thread after its current round and waits for it.
    public func stop() {
        let running = state.withLock { s -> Bool in
            s.stopped = true
            return s.started
        }
        wake.lock()
        wake.broadcast()
        wake.unlock()
        guard running else { return }
        while !state.withLock({ $0.finished }) { usleep(1000) }
    }

    private func run(_ queue: DatabaseQueue) {
        defer {
            try? queue.close()
            state.withLock { $0.finished = true }
        }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        var backoff = Backoff()
        while true {
            wake.lock()
            if !state.withLock({ $0.stopped }) {
                _ = wake.wait(until: Date(timeIntervalSinceNow: seconds))
            }
            wake.unlock()
            if state.withLock({ $0.stopped }) { return }
            if durability?.fault != nil { continue }
            do {
                try queue.writeWithoutTransaction { db in try round(db, backoff: &backoff) }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_IOERR {
                // A failed read, write or sync of the log or the file: like a
                // failed sync of the log, the kernel may not report it again.
                logger.error("WAL checkpoint failed with an I/O error: the store stops trusting its log", metadata: [
                    "sqlite.path": "\(path)", "sqlite.error": "\(error)",
                ])
                durability?.latch(WALFileSync.Failure(path: path, operation: "checkpoint the WAL", reason: "\(error)"))
            } catch {
                // Busy (another checkpoint running) or a full disk (a write
                // refused, nothing lost): the next round tries again; the
                // log only grows meanwhile.
                logger.debug("WAL checkpoint did not run", metadata: ["sqlite.path": "\(path)", "sqlite.error": "\(error)"])
            }
        }
    }
}
