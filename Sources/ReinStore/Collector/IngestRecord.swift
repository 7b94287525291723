import Foundation
import ReinAudit
import ReinCrypto

/// One shipped record line, taken apart for ingest: the line as stored, the
/// hash it claims, the hash its bytes really have, and the fields the
/// collector indexes.
///
/// Why not ``ChainedLine``: that decodes the whole record with
/// `JSONDecoder`, which is too slow for ingest at 100k records/s. The fields
/// come from ``AuditLineScanner`` (with `ChainedLine` as the fallback and the
/// final word on what is well-formed), and the hash is cut off exactly as
/// `ChainedLine` cuts it, so both see the same hashed bytes.
///
/// Why a class: the single ingest writer passes each record through the
/// batch, the zone map, the rollup and the verifier; as a struct of a dozen
/// strings every pass copied (retained) each of them, a tenth of the
/// writer's time.
public final class IngestRecord: Sendable {
    /// The chained line without its trailing newline.
    public let line: [UInt8]
    public let claimedHash: String
    public let computedHash: String
    public let recordId: String
    public let sidecarId: String
    public let sequence: Int64
    public let prevHash: String?
    public let time: String
    /// `time` in epoch milliseconds, nil when it is not RFC 3339.
    public let timeMillis: Int64?
    public let agentId: String?
    public let taskId: String?
    public let event: String
    public let decision: String
    public let grants: [AuditRecord.Grant]
    /// `ASIA` (temporary), `AKIA` (long-term) or another prefix of the agent's key id.
    public let accessKeyKind: String?
    public let brokerSource: String?
    public let forwarded: Bool

    /// Parses one line (a trailing newline is allowed).
    ///
    /// - Throws: the reason the line is not a chained `rein.audit/v1` record.
    public convenience init<Bytes: Collection>(line bytes: Bytes) throws(AuditLineError) where Bytes.Element == UInt8 {
        try self.init(line: bytes, hasher: SHA256Hasher())
    }

    /// Parses one line, hashing it with `hasher` (a batch parses all its
    /// lines with one: a new OpenSSL context per line was a twentieth of
    /// the parse).
    convenience init<Bytes: Collection>(line bytes: Bytes, hasher: SHA256Hasher) throws(AuditLineError) where Bytes.Element == UInt8 {
        var line = Array(bytes)
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let hashes = try Self.hashes(of: line, hasher: hasher)
        let fields = line.withUnsafeBufferPointer { AuditLineScanner.scan($0) }
        if let f = fields {
            try ChainedLine.check(sequence: f.sequence)
            self.init(line: line, claimedHash: hashes.claimed, computedHash: hashes.computed, recordId: f.recordId,
                      sidecarId: f.sidecarId, sequence: f.sequence, prevHash: f.prevHash, time: f.time, agentId: f.agentId,
                      taskId: f.taskId, event: f.event, decision: f.decision, grants: f.grants, accessKeyKind: f.accessKeyKind,
                      brokerSource: f.brokerSource, forwarded: f.forwarded)
        } else {
            // The decoder decides: it either rejects the line or reads what the scanner would not.
            let r = try ChainedLine(parsing: line).record
            self.init(line: line, claimedHash: hashes.claimed, computedHash: hashes.computed, recordId: r.recordId,
                      sidecarId: r.sidecarId, sequence: r.sequence, prevHash: r.prevHash, time: r.time, agentId: r.agentId,
                      taskId: r.taskId, event: r.event, decision: r.decision, grants: r.grants,
                      accessKeyKind: r.accessKeyId.map { String($0.prefix(4)) }, brokerSource: r.brokerSource.map { String($0.prefix(64)) },
                      forwarded: r.forwarded)
        }
    }

    /// A record just sealed by an ``AuditChain`` (the collector's own events).
    public convenience init(sealed: SealedRecord) throws(AuditLineError) {
        try self.init(line: sealed.line)
    }

    private init(line: [UInt8], claimedHash: String, computedHash: String, recordId: String, sidecarId: String,
                 sequence: Int64, prevHash: String?, time: String, agentId: String?, taskId: String?, event: String,
                 decision: String, grants: [AuditRecord.Grant], accessKeyKind: String?, brokerSource: String?, forwarded: Bool) {
        self.accessKeyKind = accessKeyKind
        self.brokerSource = brokerSource
        self.forwarded = forwarded
        self.line = line
        self.claimedHash = claimedHash
        self.computedHash = computedHash
        self.recordId = recordId
        self.sidecarId = sidecarId
        self.sequence = sequence
        self.prevHash = prevHash
        self.time = time
        timeMillis = RFC3339Time.milliseconds(time)
        self.agentId = agentId
        self.taskId = taskId
        self.event = event
        self.decision = decision
        self.grants = grants
    }

    /// The grants of a stored line, without hashing it (query filters); nil
    /// when the line is not a record.
    static func grants(ofLine line: [UInt8]) -> [AuditRecord.Grant]? {
        if let fields = line.withUnsafeBufferPointer({ AuditLineScanner.scan($0) }) { return fields.grants }
        return try? ChainedLine(parsing: line).record.grants
    }

    /// The full ``ChainedLine``, for the verifier's slow path (a record that
    /// does not simply extend the chain).
    public func chainedLine() throws(AuditLineError) -> ChainedLine {
        try ChainedLine(parsing: line)
    }

    /// What closes a record once its hash is cut off.
    private static let closing: [UInt8] = [UInt8(ascii: "}"), UInt8(ascii: "\n")]

    /// The claimed hash (cut off the end, as ``ChainedLine`` does) and the
    /// hash of the remaining bytes closed with `}` and a newline.
    private static func hashes(of bytes: [UInt8], hasher: SHA256Hasher) throws(AuditLineError) -> (claimed: String, computed: String) {
        let claimed = try ChainedLine.claimedHash(ofLine: bytes)
        let cut = bytes.count - ChainedLine.suffixLength
        let computed = bytes.withUnsafeBytes { raw -> Digest in
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[..<cut]))
            closing.withUnsafeBytes { hasher.update($0) }
            return hasher.finalize()
        }
        return (claimed, computed.hex)
    }
}
