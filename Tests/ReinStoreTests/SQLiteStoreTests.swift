import Foundation
import GRDB
import ReinHolds
import Testing
@testable import ReinStore

struct SQLiteStoreTests {
    @Test func opensInWALModeWithFullSync() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rein-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pool = try SQLiteStore.open(path: dir.appendingPathComponent("t.sqlite").path)
        let mode = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let sync = try pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(sync == 2) // FULL
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t(x INTEGER)")
            try db.execute(sql: "INSERT INTO t VALUES (42)")
        }
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT x FROM t") } == 42)
    }

    /// Audit records, holds and token hashes live in these files: only their
    /// owner may read them, whatever the umask, and files an older release
    /// left readable are tightened on open.
    @Test func databaseFilesAreTheOwnersOnly() throws {
        try withScratchDirectory("rein-store-mode") { dir in
            func mode(_ path: String) throws -> Int {
                try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
            }
            let old = umask(0o022)
            defer { umask(old) }
            // New, in a directory that does not exist yet.
            let path = dir + "/state/new.sqlite"
            let pool = try SQLiteStore.open(path: path)
            try pool.write { db in try db.execute(sql: "CREATE TABLE t (x INTEGER)") }
            #expect(try mode(dir + "/state") == 0o700)
            for file in [path, path + "-wal", path + "-shm"] { #expect(try mode(file) == 0o600, "\(file)") }
            try pool.close()

            // Left world-readable by an older release, with its log.
            let legacy = dir + "/legacy.sqlite"
            let queue = try DatabaseQueue(path: legacy)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "CREATE TABLE t (x INTEGER)")
            }
            for file in [legacy, legacy + "-wal", legacy + "-shm"] { #expect(chmod(file, 0o644) == 0) }
            let reopened = try SQLiteStore.open(path: legacy)
            for file in [legacy, legacy + "-wal", legacy + "-shm"] { #expect(try mode(file) == 0o600, "\(file)") }
            // The other connection kept its locks: tightening went by path, not through a descriptor.
            try queue.write { db in try db.execute(sql: "INSERT INTO t VALUES (1)") }
            #expect(try reopened.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 1)
            try reopened.close()
            try queue.close()
        }
    }

    @Test func linksTheSystemSQLite3() throws {
        let version = try SQLiteStore.libraryVersion()
        // Debian 12 ships SQLite 3.40; any system 3.x is acceptable, a bundled amalgamation is not expected.
        #expect(version.hasPrefix("3."))
    }
}

/// A rollback to an older Rein must not run old code over a newer schema.
struct NewerSchemaTests {
    @Test func aDatabaseANewerReinMigratedIsRefusedAndLeftAsItIs() throws {
        let dir = NSTemporaryDirectory() + "rein-newer-schema-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = dir + "/collector.sqlite"
        let holds = dir + "/holds.sqlite"
        try SQLiteCollectorStore(path: collector).close()
        try SQLiteHoldLedger(path: holds, settings: HoldSettings()).close()
        for path in [collector, holds] {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('from-a-newer-rein')") }
            try queue.close()
        }
        let expected = "was written by a newer version of Rein (schema steps this version does not know: from-a-newer-rein)"
        let storeRefusal = #expect(throws: CollectorStoreError.self) { _ = try SQLiteCollectorStore(path: collector) }
        #expect("\(String(describing: storeRefusal))".contains(expected))
        let ledgerRefusal = #expect(throws: HoldError.self) { _ = try SQLiteHoldLedger(path: holds, settings: HoldSettings()) }
        #expect("\(String(describing: ledgerRefusal))".contains(expected))
        // Left as the newer version wrote it, and free for that version to open.
        for path in [collector, holds] {
            let queue = try DatabaseQueue(path: path)
            #expect(try queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }.contains("from-a-newer-rein"))
            try queue.close()
        }
        // The refused opens let go of their locks.
        try DatabaseLock(databasePath: collector).release()
        try DatabaseLock(databasePath: holds).release()
    }
}

