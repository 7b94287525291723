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

    @Test func linksTheSystemSQLite3() throws {
        let version = try SQLiteStore.libraryVersion()
        // Debian 12 ships SQLite 3.40; any system 3.x is acceptable, a bundled amalgamation is not expected.
        #expect(version.hasPrefix("3."))
    }
}
