import Foundation
import ReinAudit
import Synchronization
import Testing
@testable import ReinStore

/// Concurrent ingest shares commits and stays exact.
struct CollectorGroupCommitTests {
    @Test func concurrentSidecarsAreStoredExactlyOnceInChainOrder() throws {
        let fixture = try CollectorStoreFixture()
        let store = fixture.store
        let sidecars = 4, batchesEach = 15, perBatch = 40
        // Batches prepared up front: each sidecar's in chain order.
        var prepared: [[[[UInt8]]]] = []
        for s in 0..<sidecars {
            var chain = try TestChain(sidecarId: "sc-\(s)", agentId: "agent-\(s)")
            prepared.append(try (0..<batchesEach).map { _ in try chain.seal(count: perBatch) })
        }
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for s in 0..<sidecars {
            let batches = prepared[s]
            group.enter()
            Thread.detachNewThread {
                for lines in batches {
                    do {
                        let outcome = try store.ingest(lines: lines, sidecarId: "sc-\(s)")
                        if outcome.accepted != perBatch || !outcome.findings.isEmpty {
                            failures.withLock { $0.append("sc-\(s): \(outcome)") }
                        }
                    } catch {
                        failures.withLock { $0.append("sc-\(s): \(error)") }
                    }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        for s in 0..<sidecars {
            let records = try store.allRecords(RecordQuery(sidecarId: "sc-\(s)"))
            #expect(records.map(\.sequence) == (1...Int64(batchesEach * perBatch)).map { $0 })
            #expect(try store.verify(sidecarId: "sc-\(s)", from: nil, to: nil).ok)
        }
        let stats = store.ingestCommitStats
        #expect(stats.batches == Int64(sidecars * batchesEach) && stats.commits <= stats.batches)
        // Re-sending a batch is still idempotent through the group path.
        let again = try store.ingest(lines: prepared[0][0], sidecarId: "sc-0")
        #expect(again.accepted == 0 && again.duplicates == perBatch)
    }

    /// A batch is answered only after its group's sync, and a failed sync
    /// fails the batch even though its transaction committed.
    @Test func outcomesWaitForTheSyncAndAFailedSyncFailsTheGroup() throws {
        let group = IngestGroupCommit()
        let synced = Atomic<Bool>(false)
        let ok = group.submit(AuditBatch(sidecarId: "sc", items: []), at: 0,
                              commit: { pending in pending.map { _ in .success(IngestOutcome()) } },
                              sync: {
                                  synced.store(true, ordering: .relaxed)
                                  return nil
                              })
        let didSync = synced.load(ordering: .relaxed)
        #expect(didSync)
        #expect((try? ok.get()) != nil)
        let failed = group.submit(AuditBatch(sidecarId: "sc", items: []), at: 0,
                                  commit: { pending in pending.map { _ in .success(IngestOutcome()) } },
                                  sync: { .database(operation: "ingest", message: "committed but not confirmed durable: disk gone") })
        guard case .failure(.database(_, let message)) = failed else {
            Issue.record("expected the sync failure, got \(failed)")
            return
        }
        #expect(message.contains("not confirmed durable"))
        #expect(group.stats.commits == 2 && group.stats.batches == 2)
    }
}
