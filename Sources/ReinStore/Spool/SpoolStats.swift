/// A snapshot of a spool's contents and chain head, for readiness, metrics
/// and the collector heartbeat (`spool_depth`, `spool_bytes`, `last_sequence`).
public struct SpoolStats: Sendable, Equatable {
    /// Sealed records waiting to be shipped.
    public var records: Int64
    /// Stored line bytes: records, checkpoints and intents (what the cap counts).
    public var bytes: Int64
    /// Intents whose call has not finished yet.
    public var intents: Int64
    /// Checkpoints waiting to be shipped.
    public var checkpoints: Int64
    /// The chain head: survives restarts and acknowledgements.
    public var lastSequence: Int64
    public var lastHash: String
    /// The configured cap (`maxBytes`).
    public var maxBytes: Int64
    /// Records dropped because the spool was full (`dropWhenFull` only), since open.
    public var dropped: Int64
    /// True while new records are refused (or dropped) for lack of space:
    /// from the first refusal until enough has been acknowledged for the
    /// refused record to fit, or whenever the stored bytes reach the cap.
    public var full: Bool
    /// Transactions committed since open: far fewer than writes when group commit works.
    public var commits: Int64
    /// True from a write refused because the disk under the spool had no
    /// room (``AuditSpoolError/diskFull(path:operation:)``) to the next
    /// commit: writes go on by themselves once space is freed.
    public var diskFull: Bool = false
    /// Calls whose intent is stored but whose outcome could not be written
    /// for a full disk: the writer keeps their records and writes them first
    /// once there is room (a restart meanwhile seals them "outcome unknown").
    public var heldOutcomes: Int = 0

    public init(records: Int64 = 0, bytes: Int64 = 0, intents: Int64 = 0, checkpoints: Int64 = 0, lastSequence: Int64 = 0,
                lastHash: String = String(repeating: "0", count: 64), maxBytes: Int64 = 0, dropped: Int64 = 0, full: Bool = false,
                commits: Int64 = 0) {
        self.records = records
        self.bytes = bytes
        self.intents = intents
        self.checkpoints = checkpoints
        self.lastSequence = lastSequence
        self.lastHash = lastHash
        self.maxBytes = maxBytes
        self.dropped = dropped
        self.full = full
        self.commits = commits
    }
}
