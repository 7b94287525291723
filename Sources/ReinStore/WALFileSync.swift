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
/// The log is found by path and reopened when it is replaced (SQLite deletes
/// it when the last connection closes, and a new one is a new file); after
/// a reopen, or with no log at all, the database file is synced too, as it
/// holds whatever the old log held.
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
        let opened = log.withLock { log -> (fd: Int32, reopened: Bool, error: Int32, operation: String)? in
            var device: UInt64 = 0
            var inode: UInt64 = 0
            if CReinPosix_fileIdentity(walPath, &device, &inode) != 0 {
                let code = errno
                if log.fd >= 0 { close(log.fd) }
                log = (-1, 0, 0)
                // No log: the database holds everything.
                return code == ENOENT ? nil : (-1, true, code, "look up the WAL to sync it")
            }
            let reopened = log.fd < 0 || device != log.device || inode != log.inode
            if reopened {
                if log.fd >= 0 { close(log.fd) }
                log = (open(walPath, O_RDONLY | O_CLOEXEC), device, inode)
                guard log.fd >= 0 else {
                    let code = errno
                    log = (-1, 0, 0)
                    // Gone since the lookup: as with no log at all, the database holds everything.
                    return code == ENOENT ? nil : (-1, true, code, "open the WAL to sync it")
                }
            }
            let fd = dup(log.fd)
            return (fd, reopened, fd < 0 ? errno : 0, "duplicate the WAL's descriptor")
        }
        guard let opened else { return syncFile(databasePath, what: "the database") }
        guard opened.fd >= 0 else { return failure(opened.operation, opened.error) }
        defer { close(opened.fd) }
        guard fdatasync(opened.fd) == 0 else { return failure("sync the WAL", errno) }
        // A new log: whatever the old one held is in the database now.
        return opened.reopened ? syncFile(databasePath, what: "the database") : nil
    }

    private func syncFile(_ path: String, what: String) -> Failure? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return failure("open \(what) to sync it", errno) }
        defer { close(fd) }
        guard fdatasync(fd) == 0 else { return failure("sync \(what)", errno) }
        return nil
    }

    private func failure(_ operation: String, _ code: Int32) -> Failure {
        Failure(path: databasePath, operation: operation, reason: String(cString: strerror(code)))
    }
}
