import Foundation
import Logging
import ReinAudit
import ReinCrypto
@testable import ReinStore

/// A collector store in its own temporary directory, removed when the fixture goes.
final class CollectorStoreFixture: Sendable {
    let dir: String
    let store: SQLiteCollectorStore

    /// - Parameter tailSpan: 0 makes every query use the indexes or the zone map.
    init(tailSpan: Int64 = 20_000) throws {
        dir = NSTemporaryDirectory() + "rein-collector-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        store = try SQLiteCollectorStore(path: dir + "/collector.sqlite", logger: Logger(label: "test.collector.store"), tailSpan: tailSpan)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }
}

/// A sidecar's chain built the way the sidecar builds it: records sealed
/// with ``AuditChain``, checkpoints signed with its Ed25519 key.
struct TestChain {
    let sidecarId: String
    let agentId: String
    let key: Ed25519PrivateKey
    var chain = AuditChain()

    init(sidecarId: String = "sc-1", agentId: String = "agent-a") throws {
        self.sidecarId = sidecarId
        self.agentId = agentId
        key = try Ed25519PrivateKey()
    }

    var publicKeyHex: String { key.publicKey.description }

    /// The next record, customised by `edit` before sealing.
    mutating func seal(_ edit: (inout AuditRecord) -> Void = { _ in }) throws -> [UInt8] {
        let n = chain.lastSequence + 1
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: "2026-03-01T10:00:\(String(format: "%02d", n % 60)).000Z",
                            sidecarId: sidecarId, via: "endpoint", decision: "allow")
        r.agentId = agentId
        r.taskId = "task-1"
        r.service = "s3"
        r.operation = "GetObject"
        r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::reports/\(n).csv"])]
        r.forwarded = true
        edit(&r)
        return try chain.seal(&r).line
    }

    mutating func seal(count: Int) throws -> [[UInt8]] {
        try (0..<count).map { _ in try seal() }
    }

    /// A checkpoint of the current head, signed with this chain's key (or `key`).
    func checkpoint(sequence: Int64? = nil, hash: String? = nil, key: Ed25519PrivateKey? = nil) throws -> [UInt8] {
        try AuditCheckpoint.sign(sidecarId: sidecarId, sequence: sequence ?? chain.lastSequence, hash: hash ?? chain.lastHash,
                                 time: "2026-03-01T10:01:00.000Z", key: key ?? self.key).jsonLine()
    }

    func registration(registeredBy: String = "sidecar-a") -> SidecarRegistration {
        SidecarRegistration(sidecarId: sidecarId, agentId: agentId, taskId: "task-1", publicKey: publicKeyHex, version: "test",
                            registeredBy: registeredBy)
    }
}

/// The NDJSON body of `lines`.
func ndjson(_ lines: [[UInt8]]) -> [UInt8] {
    lines.flatMap { $0.last == UInt8(ascii: "\n") ? $0 : $0 + [UInt8(ascii: "\n")] }
}

extension CollectorStore {
    /// Parses and ingests `lines` as one batch of `sidecarId`.
    func ingest(lines: [[UInt8]], sidecarId: String, at now: Int64 = 1_772_359_200_000) throws -> IngestOutcome {
        try ingest(AuditBatch.parse(ndjson: ndjson(lines), sidecarId: sidecarId), at: now)
    }

    /// Every stored record matching `query`, following cursors.
    func allRecords(_ query: RecordQuery = RecordQuery()) throws -> [AuditRecord] {
        var q = query
        var out: [AuditRecord] = []
        while true {
            let page = try records(q)
            if page.records.isEmpty { return out }
            out += try page.records.map { try JSONDecoder().decode(AuditRecord.self, from: Data($0.line)) }
            q.after = page.nextCursor
        }
    }
}

/// (kind, sequence) pairs, for exact comparisons.
func places(_ findings: [IntegrityFinding]) -> [String] {
    findings.map { "\($0.kind.rawValue)@\($0.sequence.map(String.init) ?? "-")" }.sorted()
}

func places(_ findings: [StoredFinding]) -> [String] { places(findings.map(\.finding)) }
