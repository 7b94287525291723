import Foundation
import GRDB
import Logging
import ReinAudit
import Testing
@testable import ReinStore

/// A failed sync of a log is kept (``WALFileSync/fault``), stops the
/// checkpointer, fails the owners' writes, and is recovered at the next open
/// by rewriting the log (``WALSyncFault``). The failing disk itself is in
/// the interop test `test_disk_faults.py`: these cover what happens around it.
struct WALSyncFaultTests {
    static let failure = WALFileSync.Failure(path: "x", operation: "sync the WAL", reason: "Input/output error")

    @Test func aLatchedFaultFailsEveryLaterSyncAndLeavesANote() throws {
        try withScratchDirectory("rein-syncfault") { dir in
            let (path, pool, file) = try WALFileSyncTests.syncedStore(in: dir)
            defer { try? pool.close() }
            #expect(file.sync() == nil)
            #expect(file.fault == nil)
            file.latch(Self.failure)
            file.latch(WALFileSync.Failure(path: "x", operation: "later", reason: "second")) // the first one stays
            let fault = try #require(file.fault)
            #expect(fault.reason.hasPrefix("Input/output error; nothing written since is known to be on disk"))
            #expect(fault.operation == "sync the WAL")
            // The log is fine now, but the pages the failed sync lost are not rewritten by it.
            #expect(file.sync() == fault)
            let note = try String(contentsOfFile: WALSyncFault.notePath(databasePath: path), encoding: .utf8)
            #expect(note.contains("sync the WAL: Input/output error"))
            #expect(try FileManager.default.attributesOfItem(atPath: WALSyncFault.notePath(databasePath: path))[.posixPermissions] as? Int == 0o600)
        }
    }

    static func inode(_ path: String) throws -> UInt64 {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
    }

    @Test func recoveryWritesTheDatabaseAndItsLogAnewUnchangedAndRemovesTheNote() throws {
        try withScratchDirectory("rein-syncfault") { dir in
            let path = dir + "/store.sqlite"
            let log = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) })
            let database = Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) })
            #expect(FileManager.default.createFile(atPath: path + "-wal", contents: log, attributes: [.posixPermissions: 0o600]))
            #expect(FileManager.default.createFile(atPath: path, contents: database, attributes: [.posixPermissions: 0o600]))
            let before = (try Self.inode(path + "-wal"), try Self.inode(path))
            // No note: nothing is done, whatever the log holds.
            #expect(try WALSyncFault.recover(databasePath: path, logger: Logger(label: "test")) == nil)
            #expect(try Self.inode(path + "-wal") == before.0)
            WALSyncFault.record(databasePath: path, reason: "sync the WAL: Input/output error")
            let text = try WALSyncFault.recover(databasePath: path, logger: Logger(label: "test"))
            #expect(text?.hasSuffix("sync the WAL: Input/output error") == true)
            // The same bytes and mode, in new files: new blocks, and new extents for the file system.
            #expect(FileManager.default.contents(atPath: path + "-wal") == log)
            #expect(FileManager.default.contents(atPath: path) == database)
            #expect(try Self.inode(path + "-wal") != before.0 && Self.inode(path) != before.1)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["store.sqlite", "store.sqlite-wal"])
            #expect(!FileManager.default.fileExists(atPath: WALSyncFault.notePath(databasePath: path)))
            // A note with no log (the machine restarted and SQLite removed it): recovered, nothing to rewrite.
            try FileManager.default.removeItem(atPath: path + "-wal")
            WALSyncFault.record(databasePath: path, reason: "again")
            #expect(try WALSyncFault.recover(databasePath: path, logger: Logger(label: "test")) != nil)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    @Test func aLogThatCannotBeRewrittenRefusesTheOpen() throws {
        try withScratchDirectory("rein-syncfault") { dir in
            let path = dir + "/store.sqlite"
            // The "log" is a directory: it cannot be opened for writing.
            try FileManager.default.createDirectory(atPath: path + "-wal", withIntermediateDirectories: false)
            WALSyncFault.record(databasePath: path, reason: "sync the WAL: Input/output error")
            #expect(throws: WALSyncFault.Failure.self) { try WALSyncFault.recover(databasePath: path, logger: Logger(label: "test")) }
            // The note stays for the next attempt.
            #expect(FileManager.default.fileExists(atPath: WALSyncFault.notePath(databasePath: path)))
            let spool = try SpoolFixture()
            try FileManager.default.createDirectory(atPath: spool.dir, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: spool.path + "-wal", withIntermediateDirectories: false)
            WALSyncFault.record(databasePath: spool.path, reason: "sync the WAL: Input/output error")
            #expect { _ = try spool.open() } throws: { error in
                "\(error)".contains("the disk still loses writes")
            }
        }
    }

    @Test func theCheckpointerStopsOnceTheLogSyncFailed() throws {
        try withScratchDirectory("rein-syncfault") { dir in
            let (path, pool, file) = try WALFileSyncTests.syncedStore(in: dir)
            defer { try? pool.close() }
            try WALCheckpointer.disableAutomaticCheckpoints(pool)
            let checkpointer = WALCheckpointer(path: path, interval: .milliseconds(5), durability: file, logger: Logger(label: "test"))
            file.latch(Self.failure)
            try checkpointer.start()
            defer { checkpointer.stop() }
            for i in 0..<50 {
                try pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [Data(count: 4000 + i)]) }
                usleep(2_000)
            }
            #expect(checkpointer.stats.rounds == 0)
            // Nothing was copied into the database file: every frame is still in the log.
            let frames = try pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            #expect((frames?[1] as Int? ?? 0) >= 50)
        }
    }

    @Test func aSpoolWhoseSyncFailedFailsEveryWriteAndRecoversOnReopen() throws {
        let f = try SpoolFixture()
        var spool: AuditSpool? = try f.open()
        for i in 1...5 { try spool!.append(f.record(i)) }
        spool!.durability.latch(Self.failure)
        #expect(spool!.durabilityFault?.contains("nothing written since is known to be on disk") == true)
        #expect(throws: AuditSpoolError.self) { try spool!.append(f.record(6)) }
        #expect(throws: AuditSpoolError.self) { try spool!.appendIntent(f.record(7)) }
        spool!.close()
        spool = nil
        #expect(FileManager.default.fileExists(atPath: WALSyncFault.notePath(databasePath: f.path)))
        let reopened = try f.open()
        defer { reopened.close() }
        #expect(reopened.durabilityFault == nil)
        #expect(!FileManager.default.fileExists(atPath: WALSyncFault.notePath(databasePath: f.path)))
        // The five durable records are there, and the chain goes on from the stored head.
        let next = try reopened.append(f.record(8))
        #expect(next.sequence == reopened.stats.lastSequence)
        #expect(try reopened.pendingBatch(maxRecords: 100, maxBytes: 1 << 30).recordCount >= 6)
    }

    /// The holds ledgers commit with SQLite's own syncs; a commit's I/O
    /// error is kept the same way, and the next open writes them anew.
    @Test func aHoldsLedgerWhoseCommitFailedRefusesWritesAndIsWrittenAnewOnReopen() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        ledger.durability.latch(Self.failure)
        #expect(ledger.durabilityFault?.contains("restart") == true)
        await #expect { _ = try await ledger.register(HoldFixture.request(key: String(repeating: "b", count: 64))) } throws: { error in
            "\(error)".contains("refuses writes until it is restarted")
        }
        ledger.close()
        let path = f.dir + "/holds.sqlite"
        let before = try Self.inode(path + "-wal")
        let reopened = try f.open()
        defer { reopened.close() }
        #expect(reopened.durabilityFault == nil)
        #expect(!FileManager.default.fileExists(atPath: WALSyncFault.notePath(databasePath: path)))
        #expect(try Self.inode(path + "-wal") != before)
        #expect(try await reopened.hold(id: hold.id)?.status == .pending)
        _ = try await reopened.register(HoldFixture.request(key: String(repeating: "c", count: 64)))
    }

    @Test func aCollectorStoreWhoseSyncFailedRefusesWritesAndClosesWithoutFolding() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 0)
        _ = try f.store.ingest(lines: try chain.seal(count: 3), sidecarId: chain.sidecarId)
        f.store.durability.latch(Self.failure)
        #expect(f.store.durabilityFault?.contains("restart") == true)
        #expect(throws: CollectorStoreError.self) { try f.store.ingest(lines: try chain.seal(count: 2), sidecarId: chain.sidecarId) }
        f.store.close()
        // Not folded: the log still holds the commits, for the next open to rewrite.
        let log = try FileManager.default.attributesOfItem(atPath: f.store.path + "-wal")[.size] as? Int ?? 0
        #expect(log > 0)
        let reopened = try SQLiteCollectorStore(path: f.store.path, logger: Logger(label: "test"))
        defer { reopened.close() }
        #expect(reopened.durabilityFault == nil)
        #expect(!FileManager.default.fileExists(atPath: WALSyncFault.notePath(databasePath: f.store.path)))
        #expect(try reopened.allRecords().count >= 3)
    }
}
