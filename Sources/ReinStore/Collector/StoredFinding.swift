import ReinAudit

/// An ``IntegrityFinding`` as the collector keeps it: numbered, timestamped,
/// with the offending line when there is one.
///
/// Why keep `evidence`: a conflicting duplicate is not stored as a record (the
/// record id is taken), so its line is kept here; nothing shipped is dropped.
public struct StoredFinding: Sendable, Equatable {
    public let id: Int64
    public let finding: IntegrityFinding
    /// Epoch milliseconds when the collector found it.
    public let foundAt: Int64
    public let evidence: [UInt8]?

    public init(id: Int64, finding: IntegrityFinding, foundAt: Int64, evidence: [UInt8]? = nil) {
        self.id = id
        self.finding = finding
        self.foundAt = foundAt
        self.evidence = evidence
    }
}
