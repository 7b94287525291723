import Foundation
import Logging

/// The note a failed log sync leaves beside its database
/// (`<database>-syncfault`), and the recovery the next start runs for it.
///
/// Why: after a failed `fdatasync` the kernel has marked the log's pages
/// clean with their data still in memory but not on the disk, and it will
/// not report that again (``WALFileSync``). A restarted process that simply
/// reopened the database would read those frames from the page cache, build
/// on them, and sync only what it writes itself: a crash later could still
/// lose them, and every commit after them with them.
///
/// Why fresh files, not a rewrite in place: the file system's own record of
/// those blocks was lost with them. ext4 allocates a buffered write's blocks
/// as unwritten extents and marks them written when the write-back
/// completes; after a failed write-back they stay unwritten, and writing the
/// same pages again does not change that, so once the page cache is dropped
/// they read back as zeros, whatever was written and synced there since.
/// Seen on the interop test's failing disk: a log rewritten in place kept
/// 1,200 unwritten blocks, and commits acknowledged after the restart that
/// landed in them were gone after a remount. The database file grows into
/// such blocks the same way when a checkpoint runs in the failure's window.
///
/// So the owner, holding its ``DatabaseLock`` and before SQLite opens the
/// database, copies the database file and its log, as the page cache holds
/// them, into new files (new blocks, new extents), syncs each, renames it
/// over the old one and syncs the directory. If the machine restarted
/// meanwhile, the page cache is gone and the copies hold what the disk has:
/// SQLite's own recovery then keeps the valid prefix of the log, as after
/// any crash, and the log still holds every page the database file may
/// have lost (it restarts only after a sync of the database file succeeds).
/// A copy that fails refuses the open: the disk still loses writes, or has
/// no room for the copy.
public enum WALSyncFault {
    /// The note's path for a database.
    public static func notePath(databasePath: String) -> String { databasePath + "-syncfault" }

    /// Writes the note (best effort: the disk is failing, but the next
    /// start of this machine's process reads it from the page cache, and
    /// after a restart of the machine there is nothing in memory to rewrite).
    static func record(databasePath: String, reason: String) {
        let text = "\(ISO8601DateFormatter().string(from: Date())) \(reason)\n"
        let fd = open(notePath(databasePath: databasePath), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        _ = fdatasync(fd)
        close(fd)
    }

    /// Why a recovery refused to open the database.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String {
            "\(path): an earlier sync of its log failed, and the database and its log could not be written anew and synced now "
                + "(\(reason)): the disk still loses writes, or has no room for the copies; check it (dmesg, df) before starting again"
        }
    }

    /// When the note is there, copies the database file and its log into
    /// new files and syncs them, then removes the note; returns the note's
    /// text (nil when there was none). Call with the database's
    /// ``DatabaseLock`` held and before opening it.
    @discardableResult
    public static func recover(databasePath: String, logger: Logger) throws(Failure) -> String? {
        let note = notePath(databasePath: databasePath)
        guard let data = FileManager.default.contents(atPath: note) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var copied = 0
        do {
            // The log first: a crash between the two leaves a fresh log over
            // the old file, which the log's frames still repair.
            for file in [databasePath + "-wal", databasePath] { copied += try copyToNewFile(file) }
            try SQLiteBackup.syncDirectory(of: databasePath)
        } catch let error as Failure {
            throw Failure(path: databasePath, reason: error.reason)
        } catch {
            throw Failure(path: databasePath, reason: String(describing: error))
        }
        if unlink(note) != 0, errno != ENOENT {
            throw Failure(path: databasePath, reason: "cannot remove \(note): \(String(cString: strerror(errno)))")
        }
        logger.warning("recovered from a failed sync of the database's log: wrote the database and its log anew from memory and synced them", metadata: [
            "sqlite.path": "\(databasePath)", "sqlite.fault": "\(text)", "sqlite.bytes": "\(copied)",
        ])
        return text
    }

    /// Copies `path` into a new file beside it (same mode), syncs it and
    /// renames it over `path`; returns the bytes copied (0 when there is no
    /// such file).
    static func copyToNewFile(_ path: String) throws(Failure) -> Int {
        let source = open(path, O_RDONLY | O_CLOEXEC)
        if source < 0 {
            if errno == ENOENT { return 0 }
            throw failure(path, "open", errno)
        }
        defer { close(source) }
        var info = stat()
        guard fstat(source, &info) == 0 else { throw failure(path, "stat", errno) }
        let draft = path + ".rein-recover"
        unlink(draft)
        let target = open(draft, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 0o7777)
        guard target >= 0 else { throw failure(draft, "create", errno) }
        var renamed = false
        defer {
            close(target)
            if !renamed { unlink(draft) }
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, $0.count, off_t(offset)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, "read", errno)
            }
            if count == 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { pwrite(target, $0.baseAddress! + written, count - written, off_t(offset + written)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(draft, "write", errno)
                }
                written += n
            }
            offset += count
        }
        guard fsync(target) == 0 else { throw failure(draft, "sync", errno) }
        guard rename(draft, path) == 0 else { throw failure(path, "replace", errno) }
        renamed = true
        return offset
    }

    private static func failure(_ path: String, _ operation: String, _ code: Int32) -> Failure {
        Failure(path: path, reason: "\(operation) \(path): \(String(cString: strerror(code)))")
    }
}
