import GRDB

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

    /// Opens (creating if needed) a WAL-mode database pool at `path`.
    public static func open(path: String) throws(OpenError) -> DatabasePool {
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

    /// The version of the SQLite library actually linked (the system's).
    public static func libraryVersion() throws -> String {
        let queue = try DatabaseQueue()
        return try queue.read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "unknown" }
    }
}
