import ReinCrypto

/// The per-sidecar SHA-256 hash chain over audit records.
///
/// Why a chain: each record's `hash` covers its own bytes and the previous
/// record's hash (through `prev_hash`, which is inside the hashed line), so
/// editing, dropping or reordering any record breaks every later link. The
/// collector recomputes the chain on ingest; signed ``AuditCheckpoint``s pin
/// its head, as CloudTrail's digest files do.
///
/// The rule: `hash = hex(SHA-256(line))`, where `line` is
/// ``AuditRecord/jsonLine()`` (sorted keys, with `sequence` and `prev_hash`,
/// without `hash`, ending in a newline). Sequences start at 1; the first
/// record's `prev_hash` is ``genesis``.
public struct AuditChain: Sendable, Equatable {
    public static let genesis = String(repeating: "0", count: 64)
    /// The highest sequence a chain may reach (2^53 − 1, exact in every JSON
    /// reader). A shipped line beyond it is malformed: a sidecar writing a
    /// million records a second takes 285 years to get there, and the
    /// verifiers add 1 to a head without overflowing.
    public static let maxSequence: Int64 = (1 << 53) - 1
    /// `1...maxSequence`, the sequences a record or checkpoint may name.
    public static let sequences: ClosedRange<Int64> = 1...maxSequence

    /// The sequence number of the last sealed record (0 before the first).
    public private(set) var lastSequence: Int64
    /// The hash of the last sealed record (``genesis`` before the first).
    public private(set) var lastHash: String

    public init(lastSequence: Int64 = 0, lastHash: String = AuditChain.genesis) {
        self.lastSequence = lastSequence
        self.lastHash = lastHash
    }

    /// Gives `record` the next place in the chain and returns its shipped
    /// line; the chain advances only when sealing succeeded.
    public mutating func seal(_ record: inout AuditRecord) throws -> SealedRecord {
        record.sequence = lastSequence + 1
        record.prevHash = lastHash
        record.hash = nil
        let body = try record.jsonLine()
        let hash = AuditChain.hash(of: body)
        record.hash = hash
        lastSequence = record.sequence
        lastHash = hash
        var line = body
        line.removeLast(2)
        line += Array(",\"hash\":\"\(hash)\"}\n".utf8)
        return SealedRecord(sequence: record.sequence, recordId: record.recordId, hash: hash, line: line)
    }

    /// Gives `prepared` the next place in the chain and returns its shipped
    /// line: the same bytes as sealing the record itself would give.
    public mutating func seal(_ prepared: PreparedRecord) -> SealedRecord {
        let sequence = lastSequence + 1
        let t = prepared.template
        var line: [UInt8] = []
        line.reserveCapacity(t.count + ChainedLine.suffixLength + 20)
        line.append(contentsOf: t[..<prepared.prevHashDigits.lowerBound])
        line.append(contentsOf: lastHash.utf8)
        line.append(contentsOf: t[prepared.prevHashDigits.upperBound..<prepared.sequenceDigits.lowerBound])
        line.append(contentsOf: String(sequence).utf8)
        line.append(contentsOf: t[prepared.sequenceDigits.upperBound...])
        let hash = SHA256.hash(line).hex
        lastSequence = sequence
        lastHash = hash
        line.removeLast(2) // "}\n"
        line.append(contentsOf: ",\"hash\":\"".utf8)
        line.append(contentsOf: hash.utf8)
        line.append(contentsOf: "\"}\n".utf8)
        return SealedRecord(sequence: sequence, recordId: prepared.recordId, hash: hash, line: line)
    }

    /// SHA-256 of the hashed line, as lower-case hex.
    public static func hash(of body: [UInt8]) -> String {
        SHA256.hash(body).hex
    }
}
