import Foundation
import Logging
import ReinAudit
import ReinCrypto
@testable import ReinStore

/// A spool in its own temporary directory, removed when the fixture goes.
final class SpoolFixture: Sendable {
    let dir: String
    let key: Ed25519PrivateKey
    let sidecarId: String
    var path: String { dir + "/audit-spool.db" }

    init(sidecarId: String = "sc-test") throws {
        dir = NSTemporaryDirectory() + "rein-spool-\(UUID().uuidString)"
        key = try Ed25519PrivateKey()
        self.sidecarId = sidecarId
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func configuration(maxBytes: Int64 = 256 << 20, dropWhenFull: Bool = false, every: Int = 1000,
                       interval: Duration = .seconds(3600), sidecarId: String? = nil) -> AuditSpoolConfiguration {
        AuditSpoolConfiguration(path: path, sidecarId: sidecarId ?? self.sidecarId, signingKey: key, fullSync: true, maxBytes: maxBytes,
                                dropWhenFull: dropWhenFull, checkpointEveryRecords: every, checkpointInterval: interval,
                                now: { Date(timeIntervalSince1970: 1_795_000_000) })
    }

    func open(maxBytes: Int64 = 256 << 20, dropWhenFull: Bool = false, every: Int = 1000, interval: Duration = .seconds(3600),
              onDurable: (@Sendable ([SealedRecord]) -> Void)? = nil) throws -> AuditSpool {
        try AuditSpool(configuration: configuration(maxBytes: maxBytes, dropWhenFull: dropWhenFull, every: every, interval: interval),
                       logger: Logger(label: "test.spool"), onDurable: onDurable)
    }

    func record(_ i: Int, decision: String = "allow") -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: "2026-11-18T11:06:40.000Z", sidecarId: sidecarId,
                            via: "endpoint", decision: decision)
        r.agentId = "test-agent"
        r.taskId = "t1"
        r.service = "s3"
        r.operation = "GetObject"
        r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::reports/\(i).json"])]
        r.forwarded = decision == "allow"
        r.reason = "statement read-reports"
        return r
    }
}

/// What a collector would make of shipped lines.
struct Verified {
    var records: [AuditRecord] = []
    var checkpoints: [AuditCheckpoint] = []
    var findings: [IntegrityFinding] = []
    /// Kinds of lines in order: "r" for a record, "c" for a checkpoint.
    var shape = ""
}

/// Runs lines through the collector's verifier, as the ingest API does.
func verify(_ lines: [[UInt8]], sidecarId: String, key: Ed25519PublicKey, from head: AuditChain = AuditChain()) throws -> Verified {
    var verifier = ChainVerifier(sidecarId: sidecarId, head: head)
    var out = Verified()
    var hashes: [Int64: String] = [:]
    let registered = Ed25519PublicKeyHex(hex: key.description)
    for line in lines {
        if String(decoding: line, as: UTF8.self).contains("\"schema\":\"\(AuditCheckpoint.schemaVersion)\"") {
            let checkpoint = try JSONDecoder().decode(AuditCheckpoint.self, from: Data(line))
            out.checkpoints.append(checkpoint)
            out.findings += verifier.check(checkpoint, registeredKey: registered, storedHash: hashes[checkpoint.sequence])
            out.shape += "c"
        } else {
            let chained = try ChainedLine(parsing: line)
            out.records.append(chained.record)
            hashes[chained.record.sequence] = chained.claimedHash
            out.findings += verifier.admit(chained)
            out.shape += "r"
        }
    }
    return out
}
