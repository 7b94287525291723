import Foundation
import GRDB
import ReinAudit
import Testing
@testable import ReinStore

@Suite struct SpoolSchemaTests {
    /// A spool written by schema version 1 (record id and hash in columns
    /// of their own) opens with its records kept, loses the two columns,
    /// and the chain continues from its newest record.
    @Test func aVersion1SpoolIsMigratedAndItsChainContinues() throws {
        let f = try SpoolFixture()
        var sealed: [SealedRecord] = []
        do {
            let spool = try f.open()
            sealed = try (1...3).map { try spool.append(f.record($0)) }
            spool.close()
        }
        let queue = try DatabaseQueue(path: f.path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE records_v1 (seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL, hash TEXT NOT NULL, line BLOB NOT NULL);
                INSERT INTO records_v1 SELECT seq, 'id-' || seq, 'stale', line FROM records;
                DROP TABLE records;
                ALTER TABLE records_v1 RENAME TO records;
                """)
        }
        try queue.close()

        let spool = try f.open()
        defer { spool.close() }
        #expect(spool.stats.records == 3)
        #expect(spool.stats.lastSequence == 3 && spool.stats.lastHash == sealed[2].hash)
        let fourth = try spool.append(f.record(4))
        #expect(fourth.sequence == 4)
        let reader = try DatabaseQueue(path: f.path)
        let columns = try reader.read { db in try db.columns(in: "records").map(\.name) }
        try reader.close()
        #expect(columns == ["seq", "line"])
        let batch = try spool.pendingBatch(maxRecords: 100, maxBytes: 1 << 20)
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
        #expect(v.records.map(\.sequence) == [1, 2, 3, 4])
    }

    /// The head after a stored line is the hash the line claims; a line
    /// altered so that it claims none still yields a successor (the hash of
    /// its bytes), so the chain goes on and the collector flags the break.
    @Test func theHeadIsTheClaimedHashOrTheHashOfTheBytes() throws {
        let f = try SpoolFixture()
        var chain = AuditChain()
        let s = chain.seal(PreparedRecord(f.record(1)))
        #expect(SpoolSchema.headHash(ofLine: s.line) == s.hash)
        let cut = Array(s.line.prefix(s.line.count - 10)) + Array("\n".utf8)
        #expect(SpoolSchema.headHash(ofLine: cut) == AuditChain.hash(of: cut))
        #expect(SpoolSchema.headHash(ofLine: cut) != s.hash)
    }
}
