import ReinAudit

/// ``ChainVerifier`` with a fast path for the common case.
///
/// Why: the verifier takes a ``ChainedLine``, whose construction decodes the
/// whole record with `JSONDecoder` (tens of microseconds). A record that
/// simply extends the chain (right sidecar, bytes hash to the claimed hash,
/// next sequence, `prev_hash` equal to the head) is exactly the case in
/// which `ChainVerifier.admit` reports nothing and moves the head to the
/// record; that is checked here from the already-parsed fields. Any other
/// record goes through `ChainVerifier.admit` itself, so every finding's
/// kind, sequence and wording are the verifier's own.
struct IngestVerifier {
    private var verifier: ChainVerifier

    init(sidecarId: String, head: AuditChain) {
        verifier = ChainVerifier(sidecarId: sidecarId, head: head)
    }

    var head: AuditChain { verifier.head }

    mutating func admit(_ record: IngestRecord) -> [IntegrityFinding] {
        let head = verifier.head
        if record.sidecarId == verifier.sidecarId, record.computedHash == record.claimedHash,
           record.sequence == head.lastSequence &+ 1, record.prevHash == head.lastHash {
            verifier = ChainVerifier(sidecarId: verifier.sidecarId,
                                     head: AuditChain(lastSequence: record.sequence, lastHash: record.claimedHash))
            return []
        }
        do {
            return verifier.admit(try record.chainedLine())
        } catch {
            // IngestRecord only exists for lines the decoder accepts (its scanner is
            // stricter), so this is a safety net, not an expected path.
            return [IntegrityFinding(kind: .malformed, sidecarId: verifier.sidecarId, sequence: record.sequence,
                                     recordId: record.recordId, detail: error.description)]
        }
    }
}
