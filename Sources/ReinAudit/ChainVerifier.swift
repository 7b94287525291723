/// Checks one sidecar's records, in arrival order, against its hash chain.
///
/// Why incremental: the collector verifies on ingest, batch by batch, and
/// keeps only the chain head per sidecar; `rein audit verify` replays any
/// stored range through the same code. Every anomaly becomes an
/// ``IntegrityFinding`` at the exact sequence where it shows, and the
/// verifier resynchronises on the claimed hash so one bad record is
/// reported once, not at every record after it.
public struct ChainVerifier: Sendable {
    public let sidecarId: String
    public private(set) var head: AuditChain

    /// Starts after `head` (a new sidecar starts at sequence 0, genesis hash).
    public init(sidecarId: String, head: AuditChain = AuditChain()) {
        self.sidecarId = sidecarId
        self.head = head
    }

    /// Admits the next record in arrival order and returns what is wrong with it.
    public mutating func admit(_ line: ChainedLine) -> [IntegrityFinding] {
        let r = line.record
        var findings: [IntegrityFinding] = []
        func flag(_ kind: IntegrityFinding.Kind, _ sequence: Int64?, _ detail: String) {
            findings.append(IntegrityFinding(kind: kind, sidecarId: sidecarId, sequence: sequence, recordId: r.recordId, detail: detail))
        }
        if r.sidecarId != sidecarId {
            flag(.malformed, r.sequence, "record names sidecar \(r.sidecarId)")
        }
        let computed = line.computedHash
        if computed != line.claimedHash {
            flag(.hashMismatch, r.sequence, "record \(r.sequence) was changed after it was sealed (its bytes hash to \(computed.prefix(12))…, it claims \(line.claimedHash.prefix(12))…)")
        }
        // (A head stored at the bound, before lines beyond it were refused, must not overflow.)
        let expected = min(head.lastSequence, AuditChain.maxSequence) + 1
        if r.sequence < expected {
            flag(.outOfOrder, r.sequence, r.sequence == head.lastSequence
                 ? "record \(r.sequence) arrived again after record \(r.sequence): the chain was forked or restarted, or a line repeats"
                 : "record \(r.sequence) arrived after record \(head.lastSequence)")
            return findings // the head stays where it is
        }
        if r.sequence > expected {
            let missing = r.sequence - expected
            flag(.gap, expected, missing == 1 ? "record \(expected) is missing (record \(r.sequence) follows record \(head.lastSequence))"
                 : "records \(expected)…\(r.sequence - 1) are missing (\(missing) records)")
        } else if r.prevHash != head.lastHash {
            flag(.chainBreak, r.sequence, "record \(r.sequence)'s prev_hash does not match record \(head.lastSequence)'s hash: record \(head.lastSequence) was replaced or the chain was spliced")
        }
        head = AuditChain(lastSequence: r.sequence, lastHash: line.claimedHash)
        return findings
    }

    /// Checks a checkpoint against the registered key and the stored hash of
    /// the record it names (`storedHash` is nil when that record is not held).
    public func check(_ checkpoint: AuditCheckpoint, registeredKey: Ed25519PublicKeyHex?, storedHash: String?) -> [IntegrityFinding] {
        var findings: [IntegrityFinding] = []
        func flag(_ kind: IntegrityFinding.Kind, _ detail: String) {
            findings.append(IntegrityFinding(kind: kind, sidecarId: sidecarId, sequence: checkpoint.sequence, detail: detail))
        }
        guard let registeredKey else {
            flag(.unknownKey, "checkpoint at \(checkpoint.sequence) from a sidecar with no registered signing key")
            return findings
        }
        guard checkpoint.publicKey == registeredKey.hex, let key = registeredKey.key else {
            flag(.unknownKey, "checkpoint at \(checkpoint.sequence) is signed by key \(checkpoint.publicKey.prefix(16))…, not the registered \(registeredKey.hex.prefix(16))…")
            return findings
        }
        if !checkpoint.isSigned(by: key) {
            flag(.badSignature, "checkpoint at \(checkpoint.sequence) has an invalid signature")
            return findings
        }
        if let storedHash, storedHash != checkpoint.hash {
            flag(.checkpointMismatch, "the signed checkpoint says record \(checkpoint.sequence) has hash \(checkpoint.hash.prefix(12))…, the stored record has \(storedHash.prefix(12))…: history was rewritten")
        }
        return findings
    }
}
