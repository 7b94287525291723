import Foundation
import GRDB
import GRDBSQLite
import Logging

/// Opens Rein's embedded SQLite databases (spools, holds, the collector)
/// with the settings every one of them needs: WAL journaling so readers
/// never block the writer, full synchronous commits so that a record
/// acknowledged as durable survives a crash, and foreign keys on. (The
/// audit spool and the collector store switch their writer to NORMAL and
/// sync the log themselves after each commit, outside the writer's critical
/// section: ``WALFileSync``.)
public enum SQLiteStore {
    public struct OpenError: Error, CustomStringConvertible {
        public let path: String
        public let underlying: String
        public var description: String { "cannot open SQLite database at \(path): \(underlying)" }
    }

    /// Opens (creating if needed) a WAL-mode database pool at `path`, its
    /// files readable by their owner only (``prepareFile(_:)``).
    public static func open(path: String) throws(OpenError) -> DatabasePool {
        try prepareFile(path)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = SQLiteBusyWait.mode(limit: .seconds(5))
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            // GRDB selects NORMAL for WAL pools after preparing the writer;
            // Rein's durability promise (a record is on disk before the call
            // is forwarded) needs FULL on the one connection that commits.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            return pool
        } catch {
            throw OpenError(path: path, underlying: String(describing: error))
        }
    }

    /// Makes the database's files readable and writable by their owner only
    /// (0600), creating the file (and its directory, 0700) if missing.
    ///
    /// Why: audit records, holds and token hashes are in these files, and
    /// SQLite creates a database with the process's umask (0644 by default)
    /// and gives its -wal and -shm files the database's mode. A new file is
    /// created here with 0600 before SQLite opens it; an existing one (and
    /// its -wal and -shm) is changed by path, never through a descriptor:
    /// closing any descriptor of a database drops every POSIX lock this
    /// process holds on it, SQLite's included (``WALFileSync``).
    public static func prepareFile(_ path: String) throws(OpenError) {
        try createDirectory(of: path)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            Glibc.close(fd) // new and empty: nobody holds a lock on it yet
        } else if errno != EEXIST {
            throw OpenError(path: path, underlying: String(cString: strerror(errno)))
        }
        for file in [path, path + "-wal", path + "-shm"] where chmod(file, 0o600) != 0 {
            let code = errno
            // The log and the shared-memory index exist only while the database is in use.
            if file != path, code == ENOENT { continue }
            throw OpenError(path: path, underlying: "cannot set mode 0600 on \(file): \(String(cString: strerror(code)))")
        }
    }

    /// A database that a newer version of Rein has migrated past this one.
    public struct NewerSchema: Error, Sendable, CustomStringConvertible {
        public let path: String
        /// The schema steps applied to it that this version does not know.
        public let unknownSteps: [String]
        public var description: String {
            "\(path) was written by a newer version of Rein (schema steps this version does not know: "
                + unknownSteps.joined(separator: ", ") + "): run that version or a later one, or restore a backup this version took; nothing was changed"
        }
    }

    /// Brings the database to `migrator`'s schema, after refusing one that
    /// a newer Rein migrated past it.
    ///
    /// Why refuse: a rollback (a Kubernetes `rollout undo`, an older package)
    /// would otherwise run old code over a schema it does not know, writing
    /// rows without the columns the newer version relies on; refusing keeps
    /// the database as the newer version left it.
    public static func migrate(_ migrator: DatabaseMigrator, _ pool: DatabasePool) throws {
        let unknown = try pool.read { db -> [String] in
            // Every step applied, less the ones this migrator registers.
            try migrator.appliedIdentifiers(db).subtracting(try migrator.appliedMigrations(db)).sorted()
        }
        guard unknown.isEmpty else { throw NewerSchema(path: pool.path, unknownSteps: unknown) }
        try migrator.migrate(pool)
    }

    /// Closes an owner's pool after folding the log into the database file
    /// and emptying it, so that once the owner has stopped the file alone
    /// holds everything (a copy of it is whole). SQLite's own checkpoint
    /// on close does not run here: GRDB closes the writer before its
    /// read-only readers. A failure is logged; the next open recovers.
    /// `checkpoint` false closes without folding (after a failed sync: ``WALSyncFault``).
    public static func close(_ pool: DatabasePool, checkpoint: Bool = true, logger: Logger) {
        if checkpoint { fold(pool, logger: logger) }
        try? pool.close()
    }

    private static func fold(_ pool: DatabasePool, logger: Logger) {
        do {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch {
            logger.warning("could not fold the log into the database when closing it; the next open does",
                           metadata: ["database": "\(pool.path)", "error": "\(error)"])
        }
    }

    /// Takes the database's ``DatabaseLock`` (creating its directory, 0700,
    /// if missing) for an owner that writes it and keeps state beside it in
    /// memory: call before ``open(path:)``, keep until closing.
    public static func lockForWriting(_ path: String) throws(OpenError) -> DatabaseLock {
        try createDirectory(of: path)
        do {
            return try DatabaseLock(databasePath: path)
        } catch {
            throw OpenError(path: path, underlying: error.description)
        }
    }

    private static func createDirectory(of path: String) throws(OpenError) {
        let dir = (path as NSString).deletingLastPathComponent
        guard !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) else { return }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw OpenError(path: path, underlying: "cannot create the directory \(dir): \(error.localizedDescription)")
        }
    }

    /// True when SQLite refused a write for want of space (`SQLITE_FULL`:
    /// the disk, or a test's `max_page_count`). Such a write keeps nothing
    /// and the transaction rolls back; the same write succeeds once space is
    /// freed, so the spool and the collector's store treat it as a passing
    /// state, unlike an I/O error.
    static func isDiskFull(_ error: any Error) -> Bool {
        if let error = error as? DatabaseError { return error.resultCode == .SQLITE_FULL }
        if let error = error as? SQLiteStatementError { return error.code & 0xff == SQLITE_FULL }
        return false
    }

    /// Tests: caps the database at its current size, or lifts the cap.
    /// SQLite's `max_page_count` refuses a growing write with `SQLITE_FULL`,
    /// exactly as a full disk does.
    static func capSizeForTesting(_ pool: DatabasePool, _ on: Bool) throws {
        try pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(on ? pages : 1_073_741_823)")
        }
    }

    /// The version of the SQLite library actually linked (the system's).
    public static func libraryVersion() throws -> String {
        let queue = try DatabaseQueue()
        return try queue.read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "unknown" }
    }
}
