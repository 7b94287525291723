import CReinPosix
import Foundation
import GRDB
import Logging
import ReinAudit
import Synchronization
import Testing
@testable import ReinStore

/// Durability off the writer thread (``SpoolSyncer``).
@Suite struct SpoolSyncerTests {
    @Test func everyWriteIsSyncedBeforeItsCompletionAndShipping() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        let durable = Mutex<[Int64]>([])
        let done = DispatchGroup()
        for i in 1...200 {
            done.enter()
            spool.append(f.record(i)) { result in
                if case .success(let s) = result {
                    // By the time a completion runs, the syncer has marked its record durable.
                    durable.withLock { $0.append(s.sequence) }
                    #expect(spool.durableSequence >= s.sequence)
                }
                done.leave()
            }
        }
        done.wait()
        #expect(durable.withLock { $0 } == Array(1...200))
        #expect(spool.syncs >= 1)
        #expect(spool.syncs <= spool.stats.commits)
        #expect(try spool.pendingBatch(maxRecords: 1000, maxBytes: 1 << 30).recordCount == 200)
    }

    @Test func aFailedSyncFailsEveryCompletionOfItsGroups() throws {
        // The log cannot even be looked up: its directory is a regular file (ENOTDIR).
        let notADirectory = NSTemporaryDirectory() + "rein-syncer-\(UUID().uuidString)"
        #expect(FileManager.default.createFile(atPath: notADirectory, contents: Data("x".utf8)))
        defer { try? FileManager.default.removeItem(atPath: notADirectory) }
        let syncer = SpoolSyncer(file: WALFileSync(databasePath: notADirectory + "/audit-spool.db"), syncs: true, durableSequence: 7,
                                 logger: Logger(label: "test"))
        let failure = syncer.syncNow()
        guard case .storage(_, let operation, _) = failure else {
            Issue.record("expected a storage failure, got \(String(describing: failure))")
            return
        }
        #expect(operation.contains("sync"))
        let seen = Mutex<[String]>([])
        syncer.deliver([.init(sequence: 8) { e in seen.withLock { $0.append(e == nil ? "ok" : "failed") } },
                        .init(sequence: 9) { e in seen.withLock { $0.append(e == nil ? "ok" : "failed") } }], after: failure)
        #expect(seen.withLock { $0 } == ["failed", "failed"])
        // Nothing became durable.
        #expect(syncer.durable.load(ordering: .relaxed) == 7)
    }

    @Test func aDeletedOrReplacedWALFailsEverySyncFromThenOn() throws {
        try withScratchDirectory("rein-syncer") { dir in
            let db = dir + "/audit-spool.db"
            #expect(FileManager.default.createFile(atPath: db, contents: Data("db".utf8)))
            let syncer = SpoolSyncer(file: WALFileSync(databasePath: db), syncs: true, durableSequence: 0, logger: Logger(label: "test"))
            #expect(syncer.syncNow() == nil) // no WAL yet: the database is synced
            #expect(FileManager.default.createFile(atPath: db + "-wal", contents: Data("wal 1".utf8)))
            #expect(syncer.syncNow() == nil)
            try FileManager.default.removeItem(atPath: db + "-wal")
            #expect(syncer.syncNow()?.description.contains("it was deleted while the database is open") == true)
            #expect(FileManager.default.createFile(atPath: db + "-wal", contents: Data("wal 2".utf8)))
            #expect(syncer.syncNow()?.description.contains("it was replaced while the database is open") == true)
        }
    }
}

/// ``WALFileSync`` with calls that overlap, and with a real SQLite log.
@Suite struct WALFileSyncTests {
    /// Syncs from several threads at once while the log grows (each call
    /// syncs its own duplicate of the descriptor): every call succeeds; once
    /// the log is replaced under them, every call fails.
    @Test func concurrentSyncsSucceedUntilTheLogIsReplaced() throws {
        try withScratchDirectory("rein-walsync") { dir in
            let db = dir + "/store.db"
            #expect(FileManager.default.createFile(atPath: db, contents: Data("db".utf8)))
            #expect(FileManager.default.createFile(atPath: db + "-wal", contents: Data("wal".utf8)))
            let file = WALFileSync(databasePath: db)
            let failures = Mutex<[WALFileSync.Failure]>([])
            func hammer() {
                let done = DispatchGroup()
                for _ in 0..<4 {
                    done.enter()
                    Thread.detachNewThread {
                        for _ in 0..<50 {
                            if let failure = file.sync() { failures.withLock { $0.append(failure) } }
                        }
                        done.leave()
                    }
                }
                let log = FileHandle(forWritingAtPath: db + "-wal")
                for i in 0..<50 {
                    log?.seekToEndOfFile()
                    log?.write(Data("frame \(i)".utf8))
                    usleep(200)
                }
                try? log?.close()
                done.wait()
            }
            hammer()
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
            try FileManager.default.removeItem(atPath: db + "-wal")
            _ = FileManager.default.createFile(atPath: db + "-wal", contents: Data("another".utf8))
            hammer()
            #expect(failures.withLock { $0 }.count == 200)
        }
    }

    /// A real WAL database with one commit, synced once.
    static func syncedStore(in dir: String) throws -> (path: String, pool: DatabasePool, file: WALFileSync) {
        let path = dir + "/store.sqlite"
        let pool = try SQLiteStore.open(path: path)
        try pool.write { db in try db.execute(sql: "CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        let file = WALFileSync(databasePath: path)
        #expect(file.sync() == nil)
        return (path, pool, file)
    }

    /// Syncing never drops SQLite's locks: another process that opens and
    /// closes the database (an operator's `sqlite3`, a backup) must not take
    /// itself for the last connection and delete the log under the store.
    @Test func anotherProcessReadingTheDatabaseLeavesItsLogAlone() throws {
        try withScratchDirectory("rein-walsync") { dir in
            let (path, pool, file) = try Self.syncedStore(in: dir)
            try pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (2)") }
            #expect(file.sync() == nil)
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            reader.arguments = ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                                + "c.execute('select count(*) from t').fetchall(); c.close()", path]
            try reader.run()
            reader.waitUntilExit()
            #expect(reader.terminationStatus == 0)
            #expect(FileManager.default.fileExists(atPath: path + "-wal"), "the other process deleted the log")
            try pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (3)") }
            #expect(file.sync() == nil)
        }
    }

    /// The log of a real SQLite database deleted while it is open: SQLite
    /// keeps writing to the unlinked file, and the sync says so.
    @Test func aRealLogDeletedUnderAnOpenDatabaseFails() throws {
        try withScratchDirectory("rein-walsync") { dir in
            let (path, pool, file) = try Self.syncedStore(in: dir)
            try FileManager.default.removeItem(atPath: path + "-wal")
            try pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (2)") }
            #expect(file.sync() != nil)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "SQLite recreated the log: the premise changed")
        }
    }
}

/// ``CReinPosix_fileIdentity``: the log's identity without its timestamps.
@Suite struct FileIdentityTests {
    @Test func agreesWithStatAndChangesWhenTheFileIsReplaced() throws {
        try withScratchDirectory("rein-identity") { dir in
            let path = dir + "/store.db-wal"
            #expect(FileManager.default.createFile(atPath: path, contents: Data("one".utf8)))
            // Held open, as WALFileSync holds the log: its inode cannot be reused.
            let held = open(path, O_RDONLY)
            defer { close(held) }
            var device: UInt64 = 0, inode: UInt64 = 0
            #expect(CReinPosix_fileIdentity(path, &device, &inode) == 0)
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(inode == UInt64(info.st_ino) && device == UInt64(info.st_dev))

            try FileManager.default.removeItem(atPath: path)
            #expect(CReinPosix_fileIdentity(path, &device, &inode) == -1 && errno == ENOENT)
            #expect(FileManager.default.createFile(atPath: path, contents: Data("two".utf8)))
            var replaced: UInt64 = 0
            #expect(CReinPosix_fileIdentity(path, &device, &replaced) == 0)
            #expect(replaced != UInt64(info.st_ino))
        }
    }

    /// Only a missing log means "no log, sync the database": a log that
    /// cannot be looked up at all fails the sync instead of passing it.
    @Test func aLogThatCannotBeLookedUpFailsTheSync() throws {
        try withScratchDirectory("rein-identity") { dir in
            // A file where the store's directory should be: the lookup fails with ENOTDIR.
            #expect(FileManager.default.createFile(atPath: dir + "/not-a-directory", contents: Data()))
            let file = WALFileSync(databasePath: dir + "/not-a-directory/store.db")
            let failure = file.sync()
            #expect(failure?.operation == "look up the WAL to sync it")
            #expect(failure?.reason == String(cString: strerror(ENOTDIR)))
        }
    }
}

/// ``SpoolThread``: which thread a spool thread is, and its CPU time.
@Suite struct SpoolThreadTests {
    @Test func knowsItsThreadAndReadsItsCPUTime() throws {
        let thread = SpoolThread()
        #expect(!thread.isCurrent && thread.cpuSeconds == nil)
        let seen = Mutex<(current: Bool, before: Double?, after: Double?)>((false, nil, nil))
        let entered = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            thread.enter()
            let before = thread.cpuSeconds
            var x: UInt64 = 1
            for i in 0..<5_000_000 { x = x &* 6364136223846793005 &+ UInt64(i) }
            seen.withLock { $0 = (thread.isCurrent, before, x == 0 ? nil : thread.cpuSeconds) }
            entered.signal()
            finish.wait() // keep the thread alive while the test reads its clock
        }
        entered.wait()
        defer { finish.signal() }
        let s = seen.withLock { $0 }
        #expect(s.current)
        #expect(!thread.isCurrent)
        let before = try #require(s.before), after = try #require(s.after)
        #expect(after > before)
        #expect((thread.cpuSeconds ?? 0) >= after)
    }
}
