import Foundation
import Logging
import ReinAudit
import Synchronization
import Testing
@testable import ReinStore

/// Every ``CollectorStore`` implementation, for the contract suite below.
///
/// Why an enumeration: the suite is written against the protocol only, so
/// a second store (PostgreSQL) joins it by adding a case here and nothing
/// else; these are the promises the collector's routes rely on.
enum CollectorStoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite

    var description: String { rawValue }

    /// A fresh, empty store of this kind, and a way to open it again (a restart).
    func make() throws -> StoreUnderTest {
        switch self {
        case .sqlite:
            let dir = NSTemporaryDirectory() + "rein-store-contract-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/collector.sqlite"
            let logger = Logger(label: "test.collector.contract")
            return StoreUnderTest(store: try SQLiteCollectorStore(path: path, logger: logger),
                                  reopen: { try SQLiteCollectorStore(path: path, logger: logger) },
                                  cleanUp: { try? FileManager.default.removeItem(atPath: dir) })
        }
    }
}

/// One store under test; removes what it made when it goes.
final class StoreUnderTest: Sendable {
    let store: any CollectorStore
    let reopen: @Sendable () throws -> any CollectorStore
    private let cleanUp: @Sendable () -> Void

    init(store: any CollectorStore, reopen: @escaping @Sendable () throws -> any CollectorStore, cleanUp: @escaping @Sendable () -> Void) {
        self.store = store
        self.reopen = reopen
        self.cleanUp = cleanUp
    }

    deinit { cleanUp() }
}

/// The contract points of ``CollectorStore`` that a store with concurrent
/// writers could miss: each test runs its callers on threads of their own,
/// at the same time, as the collector's blocking pool does.
@Suite struct CollectorStoreContractTests {
    /// Runs `body(worker)` on `workers` threads of their own, released
    /// together, and rethrows the first failure. Why not `concurrentPerform`:
    /// it runs as many at once as there are cores (two here), so most of
    /// the callers would not overlap.
    private func concurrently(_ workers: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let failure = Mutex<(any Error)?>(nil)
        let ready = DispatchGroup(), go = DispatchSemaphore(value: 0), done = DispatchGroup()
        for worker in 0..<workers {
            ready.enter()
            done.enter()
            Thread.detachNewThread {
                ready.leave()
                go.wait()
                do { try body(worker) } catch { failure.withLock { $0 = $0 ?? error } }
                done.leave()
            }
        }
        ready.wait()
        for _ in 0..<workers { go.signal() }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// A shipper's retries overlap its first attempts: ingests for one
    /// sidecar must each read the head the previous one wrote, so that
    /// overlapping batches store every record once and flag nothing.
    @Test(arguments: CollectorStoreKind.allCases)
    func overlappingIngestsOfOneSidecarStoreEachRecordOnce(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        var chain = try TestChain()
        let lines = try chain.seal(count: 400)
        let outcomes = Mutex<[IngestOutcome]>([])
        // Worker w ships the first (w + 1) × 50 records: every batch starts at sequence 1.
        try concurrently(8) { w in
            let batch = Array(lines[..<((w + 1) * 50)])
            let outcome = try s.store.ingest(lines: batch, sidecarId: "sc-1")
            #expect(outcome.accepted + outcome.duplicates == batch.count)
            outcomes.withLock { $0.append(outcome) }
        }
        #expect(outcomes.withLock { $0.map(\.accepted).reduce(0, +) } == 400)
        #expect(outcomes.withLock { $0.flatMap(\.findings) }.isEmpty)
        #expect(try s.store.findings(sidecarId: nil, since: nil, after: nil, limit: 100).isEmpty)
        #expect(try s.store.allRecords().map(\.sequence) == Array(1...400))
        #expect(try s.store.sidecar("sc-1")?.head == chain.chain)
        #expect(try s.store.verify(sidecarId: "sc-1", from: nil, to: nil).findings.isEmpty)
    }

    /// Concurrent pushes for one agent are serialised, not refused, and
    /// numbered 1, 2, 3… without gaps or repeats.
    @Test(arguments: CollectorStoreKind.allCases)
    func concurrentPushesForOneAgentAreNumberedWithoutGaps(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        let numbers = Mutex<[Int64]>([])
        try concurrently(8) { w in
            for i in 0..<5 {
                let draft = PolicyDraft(agentId: "agent-a", document: "version: 1\n# pushed by \(w).\(i)\n", author: "admin-\(w)",
                                        message: "push \(i)", forceReason: nil, time: 1_772_359_200_000)
                let stored = try s.store.addPolicyVersion(draft)
                numbers.withLock { $0.append(stored.version) }
            }
        }
        #expect(numbers.withLock { $0.sorted() } == Array(1...40))
        let history = try s.store.policyHistory(agentId: "agent-a")
        #expect(history.map(\.version) == Array((1...40).reversed()))
        #expect(try s.store.currentPolicy(agentId: "agent-a")?.version == 40)
    }

    /// Cursors become visible in order: a reader following `after`, as
    /// `tail` does while sidecars ship, ends with every stored record, none
    /// skipped because a lower cursor committed after it read a higher one.
    @Test(arguments: CollectorStoreKind.allCases)
    func aTailFollowingCursorsWhileSidecarsShipMissesNothing(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        let writing = Atomic<Int>(4)
        let seen = Mutex<[Int64]>([])
        try concurrently(5) { w in
            if w == 4 {
                var after: Int64 = 0
                var drained = false
                while !drained {
                    let done = writing.load(ordering: .acquiring) == 0
                    let page = try s.store.records(RecordQuery(after: after, limit: 500))
                    if let last = page.records.last {
                        #expect(last.cursor == page.nextCursor)
                        #expect(page.records.first.map { $0.cursor > after } ?? true)
                        seen.withLock { $0 += page.records.map(\.cursor) }
                        after = page.nextCursor
                    } else if done {
                        drained = true
                    }
                }
                return
            }
            defer { writing.subtract(1, ordering: .releasing) }
            var chain = try TestChain(sidecarId: "sc-\(w)")
            for _ in 0..<40 { _ = try s.store.ingest(lines: try chain.seal(count: 10), sidecarId: "sc-\(w)") }
        }
        var all: [Int64] = []
        var after: Int64 = 0
        while true {
            let page = try s.store.records(RecordQuery(after: after, limit: 1000))
            guard !page.records.isEmpty else { break }
            all += page.records.map(\.cursor)
            after = page.nextCursor
        }
        #expect(all.count == 1600)
        #expect(seen.withLock { $0 } == all)
        #expect(try s.store.latestCursor() == all.last)
    }

    /// A sidecar id's key is written once: of many registrations racing
    /// with different keys, one pins its key and every other is a mismatch
    /// with an `unknown-key` finding, the pin unchanged.
    @Test(arguments: CollectorStoreKind.allCases)
    func racingRegistrationsPinExactlyOneKey(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        let chains = try (0..<8).map { _ in try TestChain(sidecarId: "sc-race") }
        let outcomes = Mutex<[(key: String, outcome: SidecarRegistration.Outcome)]>([])
        try concurrently(8) { w in
            let outcome = try s.store.register(chains[w].registration(), at: 1_772_359_200_000)
            outcomes.withLock { $0.append((chains[w].publicKeyHex, outcome)) }
        }
        let all = outcomes.withLock { $0 }
        let winners = all.filter { $0.outcome.status == .registered }
        #expect(winners.count == 1)
        #expect(all.filter { $0.outcome.status == .mismatch }.count == 7)
        #expect(all.allSatisfy { $0.outcome.status == .registered || $0.outcome.finding?.finding.kind == .unknownKey })
        #expect(try s.store.sidecar("sc-race")?.publicKey == winners.first?.key)
    }

    /// Claims race too: an unbound id is bound once, to one agent, and every
    /// claimant hears that agent; a heartbeat binds nothing.
    @Test(arguments: CollectorStoreKind.allCases)
    func racingClaimsBindOneAgentAndHeartbeatsBindNothing(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        #expect(try s.store.heartbeat(SidecarHeartbeat(sidecarId: "sc-claim", agentId: "agent-0"), at: 1) == .notRegistered)
        #expect(try s.store.sidecar("sc-claim")?.agentId == nil)
        let answers = Mutex<[String]>([])
        try concurrently(8) { w in
            let bound = try s.store.claimSidecar("sc-claim", agentId: "agent-\(w)", at: 2)
            answers.withLock { $0.append(bound) }
        }
        let bound = try #require(try s.store.sidecar("sc-claim")?.agentId)
        #expect(answers.withLock { $0 } == Array(repeating: bound, count: 8))
        let other = bound == "agent-0" ? "agent-1" : "agent-0"
        #expect(try s.store.heartbeat(SidecarHeartbeat(sidecarId: "sc-claim", agentId: other), at: 3) == .boundToAnotherAgent(bound))
        #expect(try s.store.sidecar("sc-claim")?.agentId == bound)
    }

    /// Retention moves the sidecar's floor with the records it deletes, so
    /// re-verification reads no gap; cursors keep growing after it and
    /// after a restart.
    @Test(arguments: CollectorStoreKind.allCases)
    func retentionMovesTheFloorAndCursorsKeepGrowing(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        var chain = try TestChain()
        let day: Int64 = 86_400_000
        _ = try s.store.ingest(lines: try chain.seal(count: 30), sidecarId: "sc-1", at: 10 * day)
        _ = try s.store.ingest(lines: try chain.seal(count: 10), sidecarId: "sc-1", at: 20 * day)
        let before = try s.store.latestCursor()
        #expect(try s.store.deleteRecords(receivedBefore: 15 * day) == 30)
        let report = try s.store.verify(sidecarId: "sc-1", from: nil, to: nil)
        #expect(report.findings.isEmpty)
        #expect(report.records == 10)
        #expect(report.retainedFrom == 31)
        #expect(try s.store.latestCursor() == before)
        s.store.close()
        let reopened = try s.reopen()
        let outcome = try reopened.ingest(lines: try chain.seal(count: 5), sidecarId: "sc-1", at: 21 * day)
        #expect(outcome.findings.isEmpty)
        #expect(outcome.lastCursor > before)
        #expect(try reopened.allRecords().map(\.sequence) == Array(31...45))
    }

    /// One store per database at a time: while one is open, opening it again
    /// (another collector process on the same state) is refused and changes
    /// nothing; once it is closed, the next one opens and finds everything.
    @Test(arguments: CollectorStoreKind.allCases)
    func aSecondStoreOnOneDatabaseIsRefusedUntilTheFirstCloses(kind: CollectorStoreKind) throws {
        let s = try kind.make()
        var chain = try TestChain()
        _ = try s.store.ingest(lines: try chain.seal(count: 3), sidecarId: "sc-1", at: 1)
        let refusal = #expect(throws: CollectorStoreError.self) { _ = try s.reopen() }
        #expect(refusal.map { "\($0)" }?.contains("is in use by another process (pid \(getpid()))") == true, "\(String(describing: refusal))")
        #expect(try s.store.ingest(lines: try chain.seal(count: 1), sidecarId: "sc-1", at: 2).findings.isEmpty)
        s.store.close()
        let next = try s.reopen()
        #expect(try next.allRecords().map(\.sequence) == [1, 2, 3, 4])
        #expect(try next.ingest(lines: try chain.seal(count: 1), sidecarId: "sc-1", at: 3).findings.isEmpty)
        next.close()
    }

    /// A policy version is never stored without its change event: when the
    /// event cannot be made, nothing is stored and the next push is still 1.
    @Test(arguments: CollectorStoreKind.allCases)
    func aPushWhoseEventFailsStoresNothing(kind: CollectorStoreKind) throws {
        struct NoEvent: Error {}
        let s = try kind.make()
        let draft = PolicyDraft(agentId: "agent-a", document: "version: 1\n", author: "admin", message: "first", forceReason: nil, time: 1)
        #expect(throws: CollectorStoreError.self) { try s.store.addPolicyVersion(draft, event: { _ in throw NoEvent() }) }
        #expect(try s.store.currentPolicy(agentId: "agent-a") == nil)
        #expect(try s.store.policyHistory(agentId: "agent-a").isEmpty)
        #expect(try s.store.addPolicyVersion(draft).version == 1)
    }
}
