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
/// lose them, and every commit after them with them. So the owner, holding
/// its ``DatabaseLock`` and before SQLite opens the database, rewrites the
/// whole log in place from what the page cache holds, which marks every page
/// dirty again, and syncs it. If the machine restarted meanwhile, the page
/// cache is gone and the rewrite writes back what the disk has: SQLite's
/// own recovery then keeps the valid prefix of the log, as after any crash.
/// A rewrite that fails again refuses the open: the disk still loses writes.
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
            "\(path): an earlier sync of its log failed, and the log could not be rewritten and synced now (\(reason)): "
                + "the disk still loses writes; check it (dmesg) before starting again"
        }
    }

    /// When the note is there, rewrites the log in place and syncs it, then
    /// removes the note; returns the note's text (nil when there was none).
    /// Call with the database's ``DatabaseLock`` held and before opening it.
    @discardableResult
    public static func recover(databasePath: String, logger: Logger) throws(Failure) -> String? {
        let note = notePath(databasePath: databasePath)
        guard let data = FileManager.default.contents(atPath: note) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let rewritten: Int
        do {
            rewritten = try rewriteLog(databasePath + "-wal")
        } catch {
            throw Failure(path: databasePath, reason: error.reason)
        }
        if unlink(note) != 0, errno != ENOENT {
            throw Failure(path: databasePath, reason: "cannot remove \(note): \(String(cString: strerror(errno)))")
        }
        logger.warning("recovered from a failed sync of the database's log: rewrote the log from memory and synced it", metadata: [
            "sqlite.path": "\(databasePath)", "sqlite.fault": "\(text)", "sqlite.log_bytes": "\(rewritten)",
        ])
        return text
    }

    /// Reads the whole log and writes every byte back where it was, then
    /// `fdatasync`s it; returns its size (0 when there is no log).
    static func rewriteLog(_ path: String) throws(Failure) -> Int {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return 0 }
            throw failure(path, "open", errno)
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, "read", errno)
            }
            if count == 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, count - written, off_t(offset + written)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(path, "rewrite", errno)
                }
                written += n
            }
            offset += count
        }
        guard fdatasync(fd) == 0 else { throw failure(path, "sync", errno) }
        return offset
    }

    private static func failure(_ path: String, _ operation: String, _ code: Int32) -> Failure {
        Failure(path: path, reason: "\(operation) \(path): \(String(cString: strerror(code)))")
    }
}
