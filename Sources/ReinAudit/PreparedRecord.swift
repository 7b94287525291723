import ReinCrypto

/// A record encoded up to its place in the chain: its ``AuditRecord/jsonLine()``
/// with a placeholder `prev_hash` and `sequence`, and where those are.
///
/// Why: the sidecar's spool has one writer thread, which must seal records
/// in chain order; encoding a record (about 6 µs) needs no chain, so callers
/// do it on their own threads, and sealing on the writer is a copy, the
/// sequence digits, the previous hash and one SHA-256. Sealing it gives
/// exactly the bytes that sealing the record itself gives (a test checks).
public struct PreparedRecord: Sendable {
    public let recordId: String
    /// The line with `prev_hash` = genesis and `sequence` = 0, ending in `}\n`.
    let template: [UInt8]
    /// Where the 64 hex digits of `prev_hash` are in `template`.
    let prevHashDigits: Range<Int>
    /// Where the digits of `sequence` are in `template` (after `prev_hash`: keys are sorted).
    let sequenceDigits: Range<Int>

    public init(_ record: AuditRecord) {
        var r = record
        r.sequence = 0
        r.prevHash = AuditChain.genesis
        r.hash = nil
        var marks = AuditRecord.ChainMarks()
        template = r.encode(marks: &marks)
        recordId = record.recordId
        // Both are always written: prev_hash is set above and sequence is not optional.
        prevHashDigits = marks.prevHashDigits ?? 0..<0
        sequenceDigits = marks.sequenceDigits ?? 0..<0
    }
}
