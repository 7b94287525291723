import Foundation
import GRDB
import ReinAudit
import ReinCrypto
import Synchronization
import Testing
@testable import ReinStore

/// The spool's chain, group commit and intents.
struct AuditSpoolTests {
    @Test func chainContinuesAcrossReopenEvenAfterEverythingShipped() throws {
        let f = try SpoolFixture()
        var spool = try f.open()
        let first = try (1...3).map { try spool.append(f.record($0)) }
        #expect(first.map(\.sequence) == [1, 2, 3])
        spool.close()

        spool = try f.open()
        #expect(spool.stats.lastSequence == 3 && spool.stats.lastHash == first[2].hash)
        let fourth = try spool.append(f.record(4))
        #expect(fourth.sequence == 4)
        #expect(try ChainedLine(parsing: fourth.line).record.prevHash == first[2].hash)
        // Ship everything: the head must survive the deletion and a restart.
        try spool.acknowledge(throughSequence: spool.pendingBatch(maxRecords: 100, maxBytes: 1 << 20).throughSequence)
        #expect(spool.stats.records == 0)
        spool.close()

        spool = try f.open()
        defer { spool.close() }
        let fifth = try spool.append(f.record(5))
        #expect(fifth.sequence == 5)
        let batch = try spool.pendingBatch(maxRecords: 100, maxBytes: 1 << 20)
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey, from: AuditChain(lastSequence: 4, lastHash: fourth.hash))
        #expect(v.findings.isEmpty, "\(v.findings)")
        #expect(v.records.map(\.sequence) == [5])
    }

    @Test func concurrentAppendsAreGroupCommittedWithContiguousSequences() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        let count = 400
        let sealed = Mutex<[SealedRecord]>([])
        let failures = Mutex<[AuditSpoolError]>([])
        let group = DispatchGroup()
        let commitsBefore = spool.stats.commits
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<(count / 8) {
                group.enter()
                spool.append(f.record(worker * 1000 + i)) { result in
                    switch result {
                    case .success(let s): sealed.withLock { $0.append(s) }
                    case .failure(let e): failures.withLock { $0.append(e) }
                    }
                    group.leave()
                }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(failures.withLock { $0 }.isEmpty)
        let sequences = sealed.withLock { $0.map(\.sequence) }.sorted()
        #expect(sequences == Array(1...Int64(count)))
        // Group commit: far fewer transactions than appends.
        let commits = spool.stats.commits - commitsBefore
        #expect(commits < Int64(count / 2), "\(commits) commits for \(count) appends")

        let batch = try spool.pendingBatch(maxRecords: 10_000, maxBytes: 64 << 20)
        #expect(batch.recordCount == count)
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
    }

    @Test func completingAnIntentReplacesItWithTheSealedRecord() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        var r = f.record(1)
        let ticket = try spool.appendIntent(r)
        #expect(spool.stats.intents == 1 && spool.stats.records == 0)
        #expect(spool.stats.bytes == Int64(try r.jsonLine().count))
        #expect(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20).isEmpty, "an intent is not shipped")
        r.upstreamStatus = 200
        r.bytesOut = 1024
        let sealed = try spool.complete(ticket, with: r)
        #expect(sealed.sequence == 1 && sealed.recordId == r.recordId)
        #expect(spool.stats.intents == 0 && spool.stats.records == 1)
        #expect(spool.stats.bytes == Int64(sealed.line.count))
        let v = try verify(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20).lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.records.first?.upstreamStatus == 200 && v.findings.isEmpty)
    }

    @Test func intentsLeftByACrashAreSealedAsOutcomeUnknownOnReopen() throws {
        let f = try SpoolFixture()
        var spool = try f.open()
        let done = try spool.append(f.record(0, decision: "deny"))
        var pending = f.record(1)
        pending.reason = "statement read-reports"
        _ = try spool.appendIntent(pending)
        spool.close() // the process "dies" before complete

        spool = try f.open()
        defer { spool.close() }
        #expect(spool.recoveredIntents == 1)
        #expect(spool.stats.intents == 0 && spool.stats.records == 2)
        let batch = try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20)
        // The intent's bytes were freed as its record was sealed: the spool holds exactly what it ships.
        #expect(spool.stats.bytes == batch.lines.reduce(0) { $0 + Int64($1.count) })
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
        let recovered = try #require(v.records.last)
        #expect(recovered.sequence == done.sequence + 1)
        #expect(recovered.recordId == pending.recordId)
        #expect(recovered.decision == "allow")
        #expect(recovered.errorCode == "OutcomeUnknown")
        #expect(recovered.reason?.contains("the outcome of this call was never recorded") == true)
        // Reopening again finds nothing more to recover.
        spool.close()
        let again = try f.open()
        #expect(again.recoveredIntents == 0 && again.stats.records == 2)
        again.close()
    }

    /// An open that fails while sealing a previous run's intents (a full
    /// disk, here a trigger that refuses the insert) throws and lets go of
    /// the spool: it used to wait for a writer thread it had not started, and
    /// the sidecar hung at start without a word.
    @Test(.timeLimit(.minutes(1))) func anOpenThatCannotSealLeftoverIntentsThrowsAndLetsGo() throws {
        let f = try SpoolFixture()
        var spool = try f.open()
        _ = try spool.appendIntent(f.record(1))
        spool.close()
        let db = try DatabaseQueue(path: f.path)
        try db.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'disk full'); END") }
        #expect { _ = try f.open() } throws: { error in "\(error)".contains("disk full") }
        try db.write { try $0.execute(sql: "DROP TRIGGER refuse") }
        try db.close()
        // The failed open let go of the lock: the next one seals the intent.
        spool = try f.open()
        defer { spool.close() }
        #expect(spool.recoveredIntents == 1 && spool.stats.records == 1)
    }

    /// A second sidecar on the same spool (one state_dir shared by mistake)
    /// is refused before it reads anything: it would take the first one's
    /// live intents for a crash's leftovers and fork the chain.
    @Test func aSecondSpoolOnOneFileIsRefusedAndTouchesNothing() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        try spool.append(f.record(0))
        let live = try spool.appendIntent(f.record(1))
        let refusal = #expect(throws: AuditSpoolError.self) { _ = try f.open() }
        #expect(refusal.map { "\($0)" }?.contains("is in use by another process (pid \(getpid()))") == true, "\(String(describing: refusal))")
        #expect(spool.stats.intents == 1)
        let done = try spool.complete(live, with: f.record(1))
        #expect(done.sequence == 2)
        spool.close()
        let next = try f.open()
        #expect(next.recoveredIntents == 0 && next.stats.lastSequence == 2)
        next.close()
    }

    /// A spool a newer Rein wrote (a rollback on the same state directory)
    /// is refused as it is; one of this version's reopens as usual.
    @Test func aSpoolANewerReinWroteIsRefusedAndKept() throws {
        let f = try SpoolFixture()
        var spool = try f.open()
        try spool.append(f.record(1))
        spool.close()
        spool = try f.open()  // this version's own: the version it wrote is no obstacle
        spool.close()
        let queue = try DatabaseQueue(path: f.path)
        try queue.write { db in try db.execute(sql: "UPDATE meta SET schema_version = 3") }
        try queue.close()
        let refusal = #expect(throws: AuditSpoolError.self) { _ = try f.open() }
        #expect("\(String(describing: refusal))".contains("was written by a newer version of Rein (schema steps this version does not know: spool schema version 3"))
        let kept = try DatabaseQueue(path: f.path)
        #expect(try kept.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM records") } == 1)
        #expect(try kept.read { db in try Int.fetchOne(db, sql: "SELECT schema_version FROM meta") } == 3)
        try kept.close()
    }

    @Test func theSpoolFileIsPrivate() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        try spool.append(f.record(1))
        spool.close()
        let mode = try FileManager.default.attributesOfItem(atPath: f.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aSpoolWithAnotherSidecarsUnshippedRecordsIsRefused() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        try spool.append(f.record(1))
        spool.close()
        #expect(throws: AuditSpoolError.sidecarMismatch(path: f.path, stored: f.sidecarId, configured: "other")) {
            _ = try AuditSpool(configuration: f.configuration(sidecarId: "other"), logger: .init(label: "t"))
        }
    }

    @Test func durableRecordsAreReportedInChainOrder() throws {
        let f = try SpoolFixture()
        let seen = Mutex<[Int64]>([])
        let spool = try f.open(onDurable: { records in seen.withLock { $0 += records.map(\.sequence) } })
        for i in 1...20 { try spool.append(f.record(i)) }
        spool.close()
        #expect(seen.withLock { $0 } == Array(1...20))
    }

    @Test func writesAfterCloseFail() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        spool.close()
        #expect(throws: AuditSpoolError.closed(path: f.path)) { try spool.append(f.record(1)) }
    }

    /// A group whose SQL fails rolls back whole: its callers hear the
    /// failure, nothing of it is stored, the head does not move, and the
    /// next group continues the chain from the last stored record.
    @Test func aFailedCommitChangesNothingAndTheChainContinues() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        let first = try (1...3).map { try spool.append(f.record($0)) }
        // Another connection takes sequence 4, so the writer's insert fails.
        let other = try DatabaseQueue(path: f.path)
        try other.write { db in try db.execute(sql: "INSERT INTO records (seq, line) VALUES (4, x'00')") }
        #expect(throws: AuditSpoolError.self) { try spool.append(f.record(4)) }
        #expect(spool.stats.lastSequence == 3 && spool.stats.lastHash == first[2].hash && spool.stats.records == 3)
        try other.write { db in try db.execute(sql: "DELETE FROM records WHERE seq = 4") }
        try other.close()
        let fourth = try spool.append(f.record(5))
        #expect(fourth.sequence == 4)
        let batch = try spool.pendingBatch(maxRecords: 100, maxBytes: 1 << 20)
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
        #expect(v.records.map(\.sequence) == [1, 2, 3, 4])
    }

    /// The hook the sidecar's CPU latency hold hangs on: called once per
    /// group the writer takes, on the writer's thread.
    @Test func theWriterSaysItIsBusyForEveryGroupItTakes() throws {
        let f = try SpoolFixture()
        let calls = Atomic<Int>(0)
        var configuration = f.configuration()
        configuration.onBusy = { calls.add(1, ordering: .relaxed) }
        let spool = try AuditSpool(configuration: configuration)
        defer { spool.close() }
        #expect(calls.load(ordering: .relaxed) == 0, "nothing queued yet")
        for i in 1...5 { try spool.append(f.record(i)) }
        #expect(calls.load(ordering: .relaxed) == 5, "one group per blocking append")
    }

    /// `top -H`, `perf` and core dumps name the spool's threads (Linux takes
    /// a thread's name only from the thread itself, 15 bytes at most).
    @Test func theSpoolsThreadsAreNamed() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        try spool.append(f.record(1))
        func names() -> Set<String> {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return Set(tasks.compactMap { id in
                (try? String(contentsOfFile: "/proc/self/task/\(id)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            })
        }
        // A thread names itself when it first runs: under a loaded suite the
        // checkpoint thread may not have run yet.
        let wanted: Set<String> = ["rein-spool", "rein-spool-sync", "rein-wal-ckpt"]
        let end = Date().addingTimeInterval(10)
        while !names().isSuperset(of: wanted), Date() < end { usleep(10_000) }
        #expect(names().isSuperset(of: wanted), "\(names().sorted())")
    }
}
