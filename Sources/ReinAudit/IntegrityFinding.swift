/// Something wrong with a sidecar's audit chain, found by ``ChainVerifier``.
///
/// Why a value and not an error: a broken chain is evidence, not a reason to
/// refuse the data. The collector stores every finding next to the records,
/// shows it in queries and reports, and alerts; it never drops the records.
public struct IntegrityFinding: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The record's bytes do not hash to its `hash`: edited after sealing.
        case hashMismatch = "hash-mismatch"
        /// `prev_hash` is not the previous record's hash: the previous record
        /// was replaced (with a recomputed hash) or the chain was spliced.
        case chainBreak = "chain-break"
        /// Sequence numbers were skipped: records are missing.
        case gap
        /// A record arrived after a later one: reordered.
        case outOfOrder = "out-of-order"
        /// A record id seen before arrived with different content.
        case conflictingDuplicate = "conflicting-duplicate"
        /// A checkpoint's signature does not verify with the registered key.
        case badSignature = "bad-signature"
        /// A correctly signed checkpoint names a hash the chain does not have.
        case checkpointMismatch = "checkpoint-mismatch"
        /// A checkpoint or record from a sidecar with no registered key, or
        /// signed by a key other than the registered one.
        case unknownKey = "unknown-key"
        /// A line that is not a well-formed record.
        case malformed
        /// Offline only (`rein audit verify --file` with a key): no checkpoint
        /// signed by the given key names any of the sidecar's records.
        case unsigned
    }

    public var kind: Kind
    public var sidecarId: String
    /// The sequence number where the problem is (the first missing one for a gap).
    public var sequence: Int64?
    public var recordId: String?
    public var detail: String

    public init(kind: Kind, sidecarId: String, sequence: Int64?, recordId: String? = nil, detail: String) {
        self.kind = kind
        self.sidecarId = sidecarId
        self.sequence = sequence
        self.recordId = recordId
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case kind, sidecarId = "sidecar_id", sequence, recordId = "record_id", detail
    }

    public var description: String {
        "\(kind.rawValue) in sidecar \(sidecarId)\(sequence.map { " at sequence \($0)" } ?? ""): \(detail)"
    }
}
