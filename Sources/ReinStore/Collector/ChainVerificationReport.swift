import ReinAudit

/// The result of replaying a stored range of one sidecar's chain
/// (`GET /v1/audit/verify`, `rein audit verify`).
///
/// Why a replay and not the stored findings: the replay reads the bytes as
/// they are stored now, so it also catches anything changed in the
/// collector's own database after ingest.
public struct ChainVerificationReport: Sendable, Equatable {
    public var sidecarId: String
    public var from: Int64
    public var to: Int64
    public var records: Int
    public var checkpoints: Int
    public var findings: [IntegrityFinding]
    /// Set when the range asked for began below where retention left the
    /// chain: records before this sequence were deleted by retention (not
    /// checked, and not a gap).
    public var retainedFrom: Int64?
    public var ok: Bool { findings.isEmpty }

    public init(sidecarId: String, from: Int64, to: Int64, records: Int, checkpoints: Int, findings: [IntegrityFinding],
                retainedFrom: Int64? = nil) {
        self.retainedFrom = retainedFrom
        self.sidecarId = sidecarId
        self.from = from
        self.to = to
        self.records = records
        self.checkpoints = checkpoints
        self.findings = findings
    }
}
