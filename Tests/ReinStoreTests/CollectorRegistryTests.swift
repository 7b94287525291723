import Foundation
import ReinAudit
import Testing
@testable import ReinStore

/// The sidecar registry and central policy versions.
@Suite struct CollectorRegistryTests {
    @Test func heartbeatsAndBatchesUpdateTheFleetEntry() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 1_000)
        try f.store.heartbeat(SidecarHeartbeat(sidecarId: "sc-1", agentId: "agent-a", taskId: "task-1", policyVersion: "3",
                                               spoolDepth: 12, spoolBytes: 40_960, lastSequence: 41, ready: true), at: 2_000)
        var entry = try #require(try f.store.sidecar("sc-1"))
        #expect(entry.policyVersion == "3")
        #expect(entry.spoolDepth == 12)
        #expect(entry.spoolBytes == 40_960)
        #expect(entry.reportedSequence == 41)
        #expect(entry.ready == true)
        #expect(entry.lastSeen == 2_000)
        #expect(entry.publicKey == chain.publicKeyHex)
        _ = try f.store.ingest(lines: try chain.seal(count: 3), sidecarId: "sc-1", at: 3_000)
        entry = try #require(try f.store.sidecar("sc-1"))
        #expect(entry.lastSeen == 3_000)
        #expect(entry.storedSequence == 3)
        #expect(try f.store.sidecars().map(\.sidecarId) == ["sc-1"])
    }

    /// A clean stop ends a sidecar; only new records, a registration or an
    /// ordinary heartbeat clear the end, never a re-sent batch.
    @Test func anEndIsClearedByNewRecordsButNotByAResentBatch() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 1_000)
        let first = try chain.seal(count: 3)
        _ = try f.store.ingest(lines: first, sidecarId: "sc-1", at: 2_000)
        let stop = SidecarHeartbeat(sidecarId: "sc-1", agentId: "agent-a", spoolDepth: 0, lastSequence: 3, stopping: true)
        #expect(try f.store.heartbeat(stop, at: 3_000) == .stopped)
        #expect(try f.store.sidecar("sc-1")?.end == SidecarEnd(kind: .stopped, atMs: 3_000))
        #expect(try f.store.sidecar("sc-1")?.isSilent(now: 999_000_000, silentAfter: 120) == false)
        // The shipper's retry of a batch already stored: still ended.
        let resent = try f.store.ingest(lines: first, sidecarId: "sc-1", at: 4_000)
        #expect(resent.accepted == 0 && resent.duplicates == 3)
        #expect(try f.store.sidecar("sc-1")?.end?.kind == .stopped)
        // Retiring it records who and why; new records clear the end.
        let retired = try f.store.retireSidecar("sc-1", by: "alice", reason: "pod deleted", at: 5_000, unlessSeenSince: 4_500, event: { _ in nil })
        guard case .retired(let entry) = retired else { Issue.record("\(retired)"); return }
        #expect(entry.end == SidecarEnd(kind: .retired, atMs: 5_000, by: "alice", reason: "pod deleted"))
        let again = try f.store.retireSidecar("sc-1", by: "bob", reason: "again", at: 6_000, unlessSeenSince: 5_500, event: { _ in nil })
        #expect(again == .alreadyRetired(entry), "a second retirement changed it")
        _ = try f.store.ingest(lines: try chain.seal(count: 1), sidecarId: "sc-1", at: 7_000)
        #expect(try f.store.sidecar("sc-1")?.end == nil)
        // Seen since the cutoff, and not stopped: not retired.
        #expect(try f.store.retireSidecar("sc-1", by: "alice", reason: "x", at: 8_000, unlessSeenSince: 6_000, event: { _ in nil })
                == .active(lastSeen: 7_000))
        #expect(try f.store.retireSidecar("sc-9", by: "alice", reason: "x", at: 8_000, unlessSeenSince: 6_000, event: { _ in nil }) == .notFound)
    }

    /// Each rollout leaves old sidecar ids behind: retention forgets those
    /// that ended before its cutoff once none of their records is left, and
    /// keeps every other (a silent one is still flagged).
    @Test func retentionForgetsEndedSidecarsWithNoRecordLeft() throws {
        let f = try CollectorStoreFixture()
        var done = try TestChain(sidecarId: "sc-done")
        var quiet = try TestChain(sidecarId: "sc-quiet")
        var recent = try TestChain(sidecarId: "sc-recent")
        for chain in [done, quiet, recent] { _ = try f.store.register(chain.registration(), at: 500) }
        _ = try f.store.ingest(lines: try done.seal(count: 3), sidecarId: "sc-done", at: 1_000)
        _ = try f.store.ingest(lines: try quiet.seal(count: 2), sidecarId: "sc-quiet", at: 1_000)
        _ = try f.store.ingest(lines: try recent.seal(count: 2), sidecarId: "sc-recent", at: 1_000)
        _ = try f.store.ingest(lines: try recent.seal(count: 1), sidecarId: "sc-recent", at: 5_000)
        _ = try f.store.addFindings([IntegrityFinding(kind: .gap, sidecarId: "sc-done", sequence: 2, detail: "kept")], evidence: nil, at: 1_050)
        #expect(try f.store.heartbeat(SidecarHeartbeat(sidecarId: "sc-done", agentId: "agent-a", spoolDepth: 0, lastSequence: 3, stopping: true),
                                      at: 1_100) == .stopped)
        #expect(try f.store.heartbeat(SidecarHeartbeat(sidecarId: "sc-recent", agentId: "agent-a", spoolDepth: 0, lastSequence: 3,
                                                       stopping: true), at: 1_200) == .stopped)
        #expect(try f.store.deleteRecords(receivedBefore: 2_000) == 7)
        // sc-quiet never ended (it stays, silent); sc-recent still has record 3.
        #expect(try f.store.sidecars().map(\.sidecarId) == ["sc-quiet", "sc-recent"])
        #expect(try f.store.findings(before: 10_000, sidecarIds: ["sc-done"], newest: 10).count == 1)
        // sc-quiet's records went in that run; retired since, the next run
        // forgets it even with no record to delete.
        let gone = try f.store.retireSidecar("sc-quiet", by: "alice", reason: "node lost", at: 3_000, unlessSeenSince: 2_500, event: { _ in nil })
        guard case .retired = gone else { Issue.record("not retired: \(gone)"); return }
        #expect(try f.store.deleteRecords(receivedBefore: 4_000) == 0)
        #expect(try f.store.sidecars().map(\.sidecarId) == ["sc-recent"])
        #expect(try f.store.deleteRecords(receivedBefore: 7_000) == 1)
        #expect(try f.store.sidecars().isEmpty)
        // The id may come back with a new key: a new pin, not a mismatch.
        let again = try TestChain(sidecarId: "sc-done")
        #expect(try f.store.register(again.registration(), at: 8_000).status == .registered)
    }

    @Test func policyVersionsHistoryAndRollback() throws {
        let f = try CollectorStoreFixture()
        #expect(try f.store.currentPolicy(agentId: "agent-a") == nil)
        let v1 = try f.store.addPolicyVersion(PolicyDraft(agentId: "agent-a", document: "doc one\n", author: "alice", message: "first",
                                                          forceReason: nil, time: 1_000))
        let v2 = try f.store.addPolicyVersion(PolicyDraft(agentId: "agent-a", document: "doc two\n", author: "alice", message: "second",
                                                          forceReason: "break-glass", time: 2_000))
        _ = try f.store.addPolicyVersion(PolicyDraft(agentId: "agent-b", document: "b\n", author: "dave", message: "b",
                                                     forceReason: nil, time: 2_500))
        #expect(v1.version == 1 && v2.version == 2)
        #expect(v1.sha256.count == 64 && v1.sha256 != v2.sha256)
        #expect(try f.store.currentPolicy(agentId: "agent-a")?.document == "doc two\n")
        let back = try f.store.rollbackPolicy(agentId: "agent-a", toVersion: 1, author: "bob", message: "revert", forceReason: nil, at: 3_000)
        #expect(back.version == 3)
        #expect(back.document == "doc one\n")
        #expect(back.rollbackOf == 1)
        #expect(back.sha256 == v1.sha256)
        #expect(try f.store.policyHistory(agentId: "agent-a").map(\.version) == [3, 2, 1])
        #expect(try f.store.policyHistory(agentId: "agent-a")[1].forceReason == "break-glass")
        #expect(try f.store.policyVersion(agentId: "agent-a", version: 2)?.document == "doc two\n")
        #expect(try f.store.currentPolicies().map { "\($0.agentId)@\($0.version)" } == ["agent-a@3", "agent-b@1"])
        #expect(throws: CollectorStoreError.notFound("agent agent-a has no policy version 9")) {
            try f.store.rollbackPolicy(agentId: "agent-a", toVersion: 9, author: "bob", message: "", forceReason: nil, at: 4_000)
        }
    }
}
