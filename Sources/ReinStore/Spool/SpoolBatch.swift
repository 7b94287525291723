/// The oldest unshipped lines of a spool, ready to POST to the collector.
///
/// Why lines and not records: the collector must hash the exact bytes the
/// sidecar hashed, so the stored lines travel untouched. Checkpoint lines
/// sit right after the record they name, which is the order the collector's
/// verifier expects.
public struct SpoolBatch: Sendable, Equatable {
    /// Record and checkpoint lines in chain order, each newline-terminated.
    public var lines: [[UInt8]]
    /// How many of `lines` are records (the rest are checkpoints).
    public var recordCount: Int
    /// The highest sequence in the batch (0 when the batch is empty): pass
    /// it to ``AuditSpool/acknowledge(throughSequence:)`` after the
    /// collector's 200.
    public var throughSequence: Int64

    public init(lines: [[UInt8]] = [], recordCount: Int = 0, throughSequence: Int64 = 0) {
        self.lines = lines
        self.recordCount = recordCount
        self.throughSequence = throughSequence
    }

    public var isEmpty: Bool { lines.isEmpty }
    /// The lines' total size, as the request body before compression.
    public var byteCount: Int { lines.reduce(0) { $0 + $1.count } }
}
