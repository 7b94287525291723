import Foundation
import GRDB
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
public final class WALCheckpointer: Sendable {
    private let path: String
    private let interval: Duration
    private let logger: Logger
    private let state = Mutex<State>(State())
    private let wake = NSCondition()
    /// About 4 MiB of 4 KiB pages: SQLite's own automatic threshold is 1,000.
    static let restartFrames = 1000

    private struct State {
        var stopped = false
        var started = false
        var finished = false
    }

    /// `interval` bounds how much log a round finds: about what the writer
    /// commits in that time.
    public init(path: String, interval: Duration = .milliseconds(200), logger: Logger) {
        self.path = path
        self.interval = interval
        self.logger = logger
    }

    /// Turns off SQLite's in-commit checkpoints on the writer connection.
    public static func disableAutomaticCheckpoints(_ pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
    }

    /// Starts the checkpoint thread (once).
    public func start() throws {
        var configuration = Configuration()
        // A RESTART waits this long for the writer's current commit.
        configuration.busyMode = .timeout(1)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in run(queue) }
        thread.name = "rein-wal-checkpoint"
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
        while true {
            wake.lock()
            if !state.withLock({ $0.stopped }) {
                _ = wake.wait(until: Date(timeIntervalSinceNow: seconds))
            }
            wake.unlock()
            if state.withLock({ $0.stopped }) { return }
            do {
                try queue.writeWithoutTransaction { db in
                    // Returns (busy, frames in the log, frames copied).
                    let passive = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
                    let frames: Int = passive?[1] ?? 0
                    // A busy writer keeps appending while a PASSIVE round copies,
                    // so the log is never fully copied and SQLite never restarts
                    // it: it would grow without end. Past `restartFrames`, a
                    // RESTART copies the few frames committed since the PASSIVE
                    // round (holding the writer only for that) and lets the log
                    // start over.
                    if frames > Self.restartFrames {
                        _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(RESTART)")
                    }
                }
            } catch {
                // Busy (another checkpoint running) or a transient I/O error:
                // the next round tries again; the log only grows meanwhile.
                logger.debug("WAL checkpoint did not run", metadata: ["sqlite.path": "\(path)", "sqlite.error": "\(error)"])
            }
        }
    }
}
