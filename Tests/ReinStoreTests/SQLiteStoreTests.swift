import Foundation
import GRDB
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
