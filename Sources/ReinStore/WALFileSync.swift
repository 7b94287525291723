import CReinPosix
import Foundation
import Synchronization

/// `fdatasync` of a WAL database's log, for stores that commit with
/// `synchronous = NORMAL` and make commits durable themselves, outside the
/// writer's critical section (``SpoolSyncer``, the collector's ingest).
///
/// Why this is as durable as `synchronous = FULL`: in WAL mode a commit
/// only appends frames to the log; FULL adds an fsync of the log inside the
/// commit. Syncing the log after the commit returns, and before anyone is
/// told the data is stored, gives the same guarantee, and lets the writer
/// start the next commit meanwhile. SQLite itself still syncs the log header
/// when it restarts the log, and the database file at checkpoints.
///
/// The log is found by path and opened on the first sync (with no log yet
/// there is nothing to sync: in WAL mode every commit writes the log, and
/// SQLite syncs the database file itself at checkpoints). The database file
/// is never opened here: closing any descriptor of it would drop every POSIX
/// lock this process holds on it, SQLite's shared lock included, and the
/// next process to close the database (an operator's `sqlite3`, a backup)
/// would then take itself for the last one and delete the log. Its owner keeps a
/// connection open for as long as it syncs, and SQLite never removes or
/// replaces the log while any connection is open: so once a log was seen,
/// a path that no longer names it means someone deleted or replaced it.
/// SQLite then keeps appending to the unlinked file, which no restart will
/// read, so every sync from then on fails (its owner fails closed) rather
/// than syncing a file that no longer holds the commits.
///
/// A failed `fdatasync` is kept for good (``fault``): every later sync
/// fails with it, until the owner is restarted. Why: Linux reports a failed
/// writeback once, then marks the pages clean, with their data still in the
/// page cache but not on the disk; the next `fdatasync` succeeds without
/// writing them (PostgreSQL's "fsyncgate", 2018). A later commit would be
/// called durable while frames before it are missing from the log on disk,
/// and SQLite's recovery after a crash stops at the first missing frame, so
/// it would lose that commit too. The fault is also written beside the
/// database (``WALSyncFault``), so that the next start writes the database
/// and its log anew from what the page cache still holds and syncs them
/// before trusting them.
public final class WALFileSync: Sendable {
    /// Why a sync failed: the commits written so far may not be durable.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let operation: String
        public let reason: String
        public var description: String { "could not \(operation) of \(path): \(reason)" }
    }

    public let databasePath: String
    private let walPath: String
    /// The log's descriptor and the identity of the file it was opened as.
    private let log = Mutex<(fd: Int32, device: UInt64, inode: UInt64)>((-1, 0, 0))
    private let latched = Mutex<Failure?>(nil)

    public init(databasePath: String) {
        self.databasePath = databasePath
        walPath = databasePath + "-wal"
    }

    deinit { log.withLock { if $0.fd >= 0 { close($0.fd) } } }

    /// Makes every commit that returned before this call durable. Calls
    /// may overlap (each syncs its own duplicate of the log's descriptor):
    /// the disk completes concurrent syncs about as fast as one, and a
    /// commit need not wait for a sync that started before it.
    ///
    /// The log's path is looked up for its inode number only
    /// (`CReinPosix_fileIdentity`), never with `stat`: asking for the
    /// timestamps would make every following write stamp a new mtime and
    /// cost each sync a second synchronous write, of the inode. The held
    /// descriptor keeps its inode alive, so a path that still names the same
    /// device and inode names the same file.
    public func sync() -> Failure? {
        if let fault { return fault }
        let opened = log.withLock { log -> (fd: Int32, error: Int32, operation: String)? in
            var device: UInt64 = 0
            var inode: UInt64 = 0
            if CReinPosix_fileIdentity(walPath, &device, &inode) != 0 {
                let code = errno
                // No log yet: nothing to sync. A log that was there and is
                // gone was deleted under the open database.
                guard code == ENOENT else { return (-1, code, "look up the WAL to sync it") }
                return log.fd < 0 ? nil : (-1, ENOENT, "sync the WAL (it was deleted while the database is open: commits since went to the unlinked file)")
            }
            if log.fd >= 0, device != log.device || inode != log.inode {
                return (-1, ESTALE, "sync the WAL (it was replaced while the database is open: commits go to the old, unlinked file)")
            }
            if log.fd < 0 {
                log = (open(walPath, O_RDONLY | O_CLOEXEC), device, inode)
                guard log.fd >= 0 else {
                    let code = errno
                    log = (-1, 0, 0)
                    return code == ENOENT ? nil : (-1, code, "open the WAL to sync it")
                }
            }
            let fd = dup(log.fd)
            return (fd, fd < 0 ? errno : 0, "duplicate the WAL's descriptor")
        }
        guard let opened else { return nil }
        guard opened.fd >= 0 else { return failure(opened.operation, opened.error) }
        defer { close(opened.fd) }
        guard fdatasync(opened.fd) == 0 else {
            let failed = failure("sync the WAL", errno)
            latch(failed)
            return fault ?? failed
        }
        return nil
    }

    /// The failed sync that every sync now reports, once one has failed
    /// (or an owner latched a failed checkpoint): the disk lost writes the
    /// kernel will not report again, so nothing written since is known durable.
    public var fault: Failure? { latched.withLock { $0 } }

    /// Keeps `failure` as the ``fault`` (the first one wins) and records it
    /// beside the database for the next start (``WALSyncFault``). Called on
    /// a failed `fdatasync` here, and by ``WALCheckpointer`` when SQLite's
    /// own sync of the log or the database file fails.
    public func latch(_ failure: Failure) {
        let first = latched.withLock { current -> Bool in
            guard current == nil else { return false }
            current = Failure(path: failure.path, operation: failure.operation,
                              reason: "\(failure.reason); nothing written since is known to be on disk: "
                                  + "check the disk (dmesg), then restart, which writes the database and its log anew from memory and syncs them")
            return true
        }
        if first { WALSyncFault.record(databasePath: databasePath, reason: "\(failure.operation): \(failure.reason)") }
    }

    private func failure(_ operation: String, _ code: Int32) -> Failure {
        Failure(path: databasePath, operation: operation, reason: String(cString: strerror(code)))
    }
}
