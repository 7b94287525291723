import Foundation
import Logging
import ReinAudit
import ReinCrypto
import ReinStore
import Testing
@testable import ReinCollector

/// The collector's own chain is signed like a sidecar's.
struct CollectorAuditTrailCheckpointTests {
    func event(_ n: Int) -> AuditRecord {
        CollectorAuditTrail.policyChange(actor: "alice", operation: "PushPolicy", agentId: "agent-a", version: Int64(n), message: "v\(n)",
                                         sha256: String(repeating: "0", count: 64), forceReason: nil, sourceAddress: nil, userAgent: nil,
                                         time: Date())
    }

    @Test func theHeadIsSignedEveryNEventsAndOnDemandAndVerifies() throws {
        let dir = NSTemporaryDirectory() + "rein-trail-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteCollectorStore(path: dir + "/c.sqlite")
        let key = try Ed25519PrivateKey()
        let trail = try CollectorAuditTrail(store: store, logger: Logger(label: "test"), key: key, checkpointEvery: 3)
        #expect(try store.sidecar(CollectorAuditTrail.sidecarId)?.publicKey == key.publicKey.description)
        for n in 1...7 { try trail.append(event(n), at: 1_000 + Int64(n)) }
        // Checkpoints at 3 and 6; the head (7) is signed on demand, and not again when it has not moved.
        #expect(try trail.checkpointNow(at: 2_000) != nil)
        #expect(try trail.checkpointNow(at: 2_001) == nil)
        let report = try store.verify(sidecarId: CollectorAuditTrail.sidecarId, from: nil, to: nil)
        #expect(report.ok && report.records == 7 && report.checkpoints == 3, "\(report)")

        // Restarted with another key: the pinned key stays, and its checkpoints are flagged.
        let other = try CollectorAuditTrail(store: store, logger: Logger(label: "test"), key: try Ed25519PrivateKey(), checkpointEvery: 100)
        try other.append(event(8), at: 3_000)
        let outcome = try other.checkpointNow(at: 3_001)
        #expect(outcome?.findings.contains { $0.finding.kind == .unknownKey || $0.finding.kind == .badSignature } == true,
                "\(String(describing: outcome?.findings))")
        #expect(try store.sidecar(CollectorAuditTrail.sidecarId)?.publicKey == key.publicKey.description)
    }

    @Test func theKeyFileIsCreatedOnceWithMode0600() throws {
        let path = NSTemporaryDirectory() + "rein-key-\(UUID().uuidString)"
        defer { unlink(path) }
        let first = try SigningKeyFile.loadOrCreate(path: path)
        let again = try SigningKeyFile.loadOrCreate(path: path)
        #expect(first.publicKey.description == again.publicKey.description)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
    }
}
