import Foundation
import Logging
import ReinAudit
import ReinHolds
import Testing
@testable import ReinCollector
@testable import ReinStore

/// Hold events in the collector's own chain: one that cannot be written
/// yet (a full disk) is kept and written, in order, with the next one.
@Suite struct CollectorHoldEventsTests {
    @Test func anEventThatCannotBeWrittenYetIsWrittenWithTheNext() async throws {
        let dir = NSTemporaryDirectory() + "rein-hold-events-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = CollectorConfiguration()
        config.stateDir = dir
        let store = try SQLiteCollectorStore(path: dir + "/collector.sqlite")
        let logger = Logger(label: "test.holds")
        let trail = try CollectorAuditTrail(store: store, logger: logger)
        let holds = try CollectorHolds.open(config, trail: trail, logger: logger)
        defer { holds.stop() }
        try store.write("test trigger") { db in
            try db.execute(sql: """
                CREATE TRIGGER no_room BEFORE INSERT ON records WHEN NEW.event = 'hold-created'
                BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
                """)
        }
        let new = NewHold(key: String(repeating: "c", count: 64), sidecarId: "sc-1", agentId: "agent-a", taskId: "t", accessKeyId: nil,
                          service: "s3", region: "us-east-1", operation: "DeleteObject",
                          grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::b/k"])],
                          summary: HoldSummary(method: "DELETE", host: "b.s3.amazonaws.com", path: "/k", queryKeys: [], contentLength: nil,
                                               userAgent: nil, sourceAddress: nil),
                          statementId: "s", reasonHeld: "r")
        let hold = try await holds.ledger.register(new)
        #expect(try store.records(RecordQuery(sidecarId: "collector", limit: 10)).records.isEmpty)
        try store.write("test trigger") { db in try db.execute(sql: "DROP TRIGGER no_room") }
        _ = try await holds.ledger.decide(id: hold.id, .deny(reason: "no"), by: "bob")
        let events = try store.records(RecordQuery(sidecarId: "collector", limit: 10)).records.map { r in
            ((try? JSONSerialization.jsonObject(with: Data(r.line))) as? [String: Any])?["event"] as? String
        }
        #expect(events == ["hold-created", "hold-denied"])
    }
}
