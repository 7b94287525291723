/// What one ingested batch did, once it is durable.
///
/// Why `throughSequence`: the sidecar deletes spooled records up to it, so it
/// names the highest sequence of the batch's record lines, every one of which
/// is now stored (or was already, or is kept as evidence of a conflict).
public struct IngestOutcome: Sendable, Equatable {
    /// Records stored for the first time.
    public var accepted: Int
    /// Records seen before with the same hash (not stored again).
    public var duplicates: Int
    /// Checkpoint lines in the batch (a re-sent checkpoint is not checked again).
    public var checkpoints: Int
    /// Integrity findings this batch produced, as stored.
    public var findings: [StoredFinding]
    /// The highest record sequence in the batch; without records, the highest stored one.
    public var throughSequence: Int64
    /// The ingest cursor of the last stored record (unchanged when nothing was stored).
    public var lastCursor: Int64

    public init(accepted: Int = 0, duplicates: Int = 0, checkpoints: Int = 0, findings: [StoredFinding] = [],
                throughSequence: Int64 = 0, lastCursor: Int64 = 0) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.checkpoints = checkpoints
        self.findings = findings
        self.throughSequence = throughSequence
        self.lastCursor = lastCursor
    }
}
