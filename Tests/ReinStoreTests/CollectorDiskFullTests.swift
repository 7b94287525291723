import Foundation
import Testing
@testable import ReinStore

/// A full disk under the collector's store (``CollectorStoreError/full(operation:)``):
/// the write is refused and nothing of it is kept, the store says it is full
/// until a write commits again, and nothing needs a restart. SQLite's
/// `max_page_count` refuses a growing write exactly as a full disk does
/// (`SQLITE_FULL`); the real full disk is in the interop test `test_disk_faults.py`.
struct CollectorDiskFullTests {
    @Test func aFullDiskRefusesTheWriteAndPassesWhenSpaceIsFreed() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 0)
        _ = try f.store.ingest(lines: try chain.seal(count: 3), sidecarId: chain.sidecarId)
        #expect(!f.store.diskFull)

        try f.store.capSizeForTesting(true)
        let batch = try chain.seal(count: 200)
        #expect(throws: CollectorStoreError.full(operation: "ingest")) {
            try f.store.ingest(lines: batch, sidecarId: chain.sidecarId)
        }
        #expect(f.store.diskFull)
        // Nothing of the refused batch is kept, and the chain head did not move.
        #expect(try f.store.allRecords().count == 3)
        // Other writes that need room say the same.
        #expect(throws: CollectorStoreError.full(operation: "store policy version")) {
            for n in 0..<200 {
                _ = try f.store.addPolicyVersion(PolicyDraft(agentId: "agent-\(n)", document: String(repeating: "x", count: 4000),
                                                             author: "a", message: "m", forceReason: nil, time: 0))
            }
        }
        #expect(f.store.durabilityFault == nil)

        // Space is freed: the same batch is taken as it is, and the chain is whole.
        try f.store.capSizeForTesting(false)
        let outcome = try f.store.ingest(lines: batch, sidecarId: chain.sidecarId)
        #expect(outcome.accepted == 200)
        #expect(!f.store.diskFull)
        let report = try f.store.verify(sidecarId: chain.sidecarId, from: nil, to: nil)
        #expect(report.ok && report.records == 203)
        #expect(try f.store.findings(sidecarId: nil, since: nil, after: nil, limit: 10).isEmpty)
    }
}
