import Foundation
import GRDB
import ReinCrypto
import Synchronization

/// A consistent copy of one of Rein's SQLite databases while its owner keeps
/// writing it, and the checks that say a copy is whole.
///
/// Why `VACUUM INTO` and not copying the file: a live WAL database is the
/// file plus a log that only the running process folds in, so a file copy
/// can miss committed data or tear a page. `VACUUM INTO` reads one snapshot
/// in one read transaction, so it never starts over however much the owner
/// commits meanwhile (SQLite's online backup API restarts whenever another
/// process writes, which a busy collector always does), and it writes a
/// compacted database with no log. The owner is not stopped: it goes on
/// committing, and its log restarts wait for the copy's snapshot only
/// briefly before backing off (``WALCheckpointer``).
public enum SQLiteBackup {
    /// Why a copy or a check failed; nothing was left at the destination.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let operation: String
        public let reason: String
        public init(path: String, operation: String, reason: String) {
            self.path = path
            self.operation = operation
            self.reason = reason
        }
        public var description: String { "could not \(operation) \(path): \(reason)" }
    }

    /// Copies the database at `source`, as of one moment, to `destination`
    /// (mode 0600; must not exist), durably: written to
    /// `destination.partial`, synced, then renamed and its directory synced,
    /// so a crash leaves no file at `destination` that looks whole and is
    /// not. `progress` is called about once a second with the bytes written
    /// so far and the source's size, from another thread. Returns the size.
    public static func copy(from source: String, to destination: String,
                            progress: (@Sendable (_ written: Int64, _ of: Int64) -> Void)? = nil) throws(Failure) -> Int64 {
        guard FileManager.default.fileExists(atPath: source) else {
            throw Failure(path: source, operation: "back up", reason: "no such database")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw Failure(path: destination, operation: "write", reason: "it exists; a backup never overwrites")
        }
        let partial = destination + ".partial"
        // VACUUM INTO takes an empty file: made here, so that it is private from the start.
        close(try createPrivate(partial))
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = SQLiteBusyWait.mode(limit: .seconds(30))
            let queue = try DatabaseQueue(path: source, configuration: configuration)
            let total = try queue.read { db in
                try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
            }
            let watcher = progress.map { ProgressWatcher(path: partial, total: total, report: $0) }
            defer { watcher?.stop() }
            try queue.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [partial]) }
            try queue.close()
        } catch {
            unlink(partial)
            throw Failure(path: source, operation: "copy", reason: String(describing: error))
        }
        try publish(partial, as: destination)
        return fileSize(destination)
    }

    /// SQLite's own consistency check of the database at `path`, read only:
    /// every page and index entry is where it should be.
    public static func check(_ path: String) throws(Failure) {
        let result: [String]
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            result = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            try queue.close()
        } catch {
            throw Failure(path: path, operation: "check", reason: String(describing: error))
        }
        guard result == ["ok"] else {
            throw Failure(path: path, operation: "check", reason: "SQLite's quick_check found: " + result.prefix(5).joined(separator: "; "))
        }
    }

    /// The SHA-256 of the file at `path` in lower-case hex, read in 1 MiB pieces.
    public static func digest(of path: String) throws(Failure) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Failure(path: path, operation: "read", reason: "cannot open it")
        }
        defer { try? handle.close() }
        let hasher = SHA256Hasher()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                chunk.withUnsafeBytes { hasher.update($0) }
            }
        } catch {
            throw Failure(path: path, operation: "read", reason: String(describing: error))
        }
        return hasher.finalize().hex
    }

    /// Copies the file at `source` to `destination` (0600, must not exist)
    /// durably, in 1 MiB pieces: written to `destination.partial`, synced,
    /// renamed, and the directory synced.
    public static func copyFile(from source: String, to destination: String) throws(Failure) {
        guard let input = FileHandle(forReadingAtPath: source) else {
            throw Failure(path: source, operation: "read", reason: "cannot open it")
        }
        defer { try? input.close() }
        let partial = destination + ".partial"
        let fd = try createPrivate(partial)
        var failure: Failure?
        do {
            while failure == nil, let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written != chunk.count {
                    failure = Failure(path: partial, operation: "write", reason: written < 0 ? String(cString: strerror(errno)) : "short write")
                }
            }
        } catch {
            failure = Failure(path: source, operation: "read", reason: String(describing: error))
        }
        close(fd)
        if let failure {
            unlink(partial)
            throw failure
        }
        try publish(partial, as: destination)
    }

    /// Creates `path` empty and private (0600), replacing a `.partial` an
    /// interrupted run left; returns its descriptor.
    private static func createPrivate(_ path: String) throws(Failure) -> Int32 {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(path: path, operation: "create", reason: String(cString: strerror(errno))) }
        return fd
    }

    /// Syncs `partial`, renames it to `destination` and syncs the directory,
    /// so that `destination` appears only whole; removes `partial` on failure.
    private static func publish(_ partial: String, as destination: String) throws(Failure) {
        do throws(Failure) {
            try syncFile(partial)
            guard rename(partial, destination) == 0 else {
                throw Failure(path: destination, operation: "rename \(partial) to", reason: String(cString: strerror(errno)))
            }
        } catch {
            unlink(partial)
            throw error
        }
        try syncDirectory(of: destination)
    }

    public static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func syncFile(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(path: path, operation: "sync", reason: String(cString: strerror(errno))) }
    }

    /// Makes a rename or a new name in the directory of `path` durable.
    public static func syncDirectory(of path: String) throws(Failure) {
        let dir = (path as NSString).deletingLastPathComponent
        try syncFile(dir.isEmpty ? "." : dir)
    }
}

/// Reports a growing file's size about once a second until stopped.
private final class ProgressWatcher: Sendable {
    private let done = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, total: Int64, report: @escaping @Sendable (Int64, Int64) -> Void) {
        Thread.detachNewThread { [self] in
            var waited = 0
            while !done.load(ordering: .relaxed) {
                usleep(50_000)
                waited += 1
                if waited % 20 == 0 { report(SQLiteBackup.fileSize(path), total) }
            }
            finished.signal()
        }
    }

    func stop() {
        done.store(true, ordering: .relaxed)
        finished.wait()
    }
}
