import Foundation
import GRDB
import Logging
import Synchronization
import Testing
@testable import ReinStore

/// The background checkpointer and the busy wait Rein's connections use.
struct WALCheckpointerTests {
    /// A writer that never pauses must still see its log start over (else it
    /// grows without end), and nothing it wrote may be lost on the way.
    @Test func aBusyWriterStillGetsItsLogRestartedAndKeepsEveryRow() throws {
        try withScratchDirectory("rein-walckpt") { dir in
            let path = dir + "/busy.sqlite"
            let pool = try SQLiteStore.open(path: path)
            try WALCheckpointer.disableAutomaticCheckpoints(pool)
            try pool.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
            let checkpointer = WALCheckpointer(path: path, interval: .milliseconds(20), logger: Logger(label: "test"))
            try checkpointer.start()
            let body = Data(repeating: 0x61, count: 1200)
            var written = 0
            let deadline = Date().addingTimeInterval(30)
            // Past `restartFrames` (about 4 MiB of log) at least twice, with no pause between commits.
            while (checkpointer.stats.restarts < 2 || written < 20_000) && Date() < deadline {
                try pool.write { db in
                    for _ in 0..<20 {
                        try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [body])
                    }
                }
                written += 20
            }
            checkpointer.stop()
            let stats = checkpointer.stats
            #expect(stats.restarts >= 2)
            #expect(stats.rounds >= stats.restarts)
            #expect(stats.catchUps >= stats.restarts) // at least one catching-up round before each restart
            #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == written)
            #expect(try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
            // The log started over: it holds far fewer frames than were ever written to it.
            let log = try pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            let frames: Int = log?[1] ?? -1
            #expect(frames >= 0 && frames < written / 3)
            try pool.close()
        }
    }

    /// A reader that keeps an old snapshot keeps the log from restarting, and
    /// each RESTART that waits for it holds the writer: after one gives up,
    /// the next ones wait longer and longer, and once the reader is gone the
    /// log restarts again.
    @Test func aLongReaderMakesRestartsBackOffUntilItIsGone() throws {
        try withScratchDirectory("rein-walckpt") { dir in
            let path = dir + "/reader.sqlite"
            let pool = try SQLiteStore.open(path: path)
            try WALCheckpointer.disableAutomaticCheckpoints(pool)
            let body = Data(repeating: 0x62, count: 1200)
            func write(_ rows: Int) throws {
                try pool.write { db in
                    for _ in 0..<rows { try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [body]) }
                }
            }
            try pool.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
            try write(4000) // past `restartFrames`
            var configuration = Configuration()
            configuration.allowsUnsafeTransactions = true
            let reader = try DatabaseQueue(path: path, configuration: configuration)
            try reader.inDatabase { db in
                try db.execute(sql: "BEGIN")
                _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")
            }
            try write(100) // the reader's snapshot is now an older one
            let checkpointer = WALCheckpointer(path: path, interval: .milliseconds(5), logger: Logger(label: "test"))
            try checkpointer.start()
            defer { checkpointer.stop() }
            let deadline = Date().addingTimeInterval(60)
            while checkpointer.stats.rounds < 40 && Date() < deadline { usleep(5000) }
            let held = checkpointer.stats
            #expect(held.rounds >= 40)
            #expect(held.busyRestarts == held.restarts) // none could restart the log under the reader
            // 1, 2, 4, 8, then 16 rounds apart: 6 in the first 40 rounds, and
            // rounds go on while this thread waits for its turn on a busy machine.
            #expect(held.restarts >= 1 && held.restarts <= held.rounds / 4 + 2, "\(held)")

            try reader.inDatabase { db in try db.execute(sql: "COMMIT") }
            try write(10)
            while checkpointer.stats.restarts == checkpointer.stats.busyRestarts && Date() < deadline { usleep(5000) }
            #expect(checkpointer.stats.restarts > checkpointer.stats.busyRestarts)
            #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 4110)
            try reader.close()
            try pool.close()
        }
    }

    @Test func syncsTheDatabaseFileThroughSQLitesOwnDescriptor() throws {
        try withScratchDirectory("rein-walckpt") { dir in
            let queue = try DatabaseQueue(path: dir + "/sync.sqlite")
            try queue.write { db in try db.execute(sql: "CREATE TABLE t (x INTEGER)") }
            #expect(try queue.writeWithoutTransaction { db in WALCheckpointer.syncDatabaseFile(db) })
        }
        // An in-memory database has no file to sync.
        let memory = try DatabaseQueue()
        #expect(try memory.writeWithoutTransaction { db in WALCheckpointer.syncDatabaseFile(db) } == false)
    }

    @Test func theBusyWaitStepsFinelyAtFirstThenByTheMillisecond() {
        #expect(SQLiteBusyWait.waited(beforeTry: 0) == 0)
        #expect(SQLiteBusyWait.waited(beforeTry: 1) == 50)
        #expect(SQLiteBusyWait.waited(beforeTry: 100) == 5_000)
        #expect(SQLiteBusyWait.waited(beforeTry: 101) == 6_000)
        #expect(SQLiteBusyWait.waited(beforeTry: 110) == 15_000)
    }

    @Test func theBusyWaitGivesUpAtItsLimit() throws {
        guard case .callback(let retry) = SQLiteBusyWait.mode(limit: .milliseconds(20)) else {
            Issue.record("not a callback")
            return
        }
        #expect(retry(0))  // 0 µs waited: try again
        #expect(retry(114)) // 19 ms waited: try again
        #expect(!retry(115)) // 20 ms waited: give up
        #expect(!retry(10_000))
    }

    /// Against a real lock: a lock held past the limit fails the waiter with
    /// SQLITE_BUSY (it does not hang); one released in time lets it through.
    @Test func aWaiterGetsTheLockWhenItIsFreedAndBusyPastTheLimit() throws {
        try withScratchDirectory("rein-walckpt") { dir in
            let path = dir + "/lock.sqlite"
            let holder = try SQLiteStore.open(path: path)
            try holder.write { db in try db.execute(sql: "CREATE TABLE t (x INTEGER)") }
            var impatient = Configuration()
            impatient.busyMode = SQLiteBusyWait.mode(limit: .milliseconds(200))
            let waiter = try DatabaseQueue(path: path, configuration: impatient)
            var patient = Configuration()
            patient.busyMode = SQLiteBusyWait.mode(limit: .seconds(30))
            let patientWaiter = try DatabaseQueue(path: path, configuration: patient)

            let held = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                try? holder.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    held.signal()
                    release.wait()
                    try db.execute(sql: "COMMIT")
                }
                done.signal()
            }
            held.wait()
            #expect(throws: DatabaseError.self) {
                try waiter.write { db in try db.execute(sql: "INSERT INTO t VALUES (1)") }
            }
            // Freed while the waiter waits: it gets through.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(30)) { release.signal() }
            try patientWaiter.write { db in try db.execute(sql: "INSERT INTO t VALUES (2)") }
            done.wait()
            #expect(try waiter.read { db in try Int.fetchAll(db, sql: "SELECT x FROM t") } == [2])
            try holder.close()
        }
    }
}
