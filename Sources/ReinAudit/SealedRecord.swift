/// One record after sealing: what the spool stores and the shipper sends.
public struct SealedRecord: Sendable, Equatable {
    public let sequence: Int64
    public let recordId: String
    public let hash: String
    /// The chained line (``AuditRecord/chainedLine()``), newline-terminated.
    public let line: [UInt8]

    public init(sequence: Int64, recordId: String, hash: String, line: [UInt8]) {
        self.sequence = sequence
        self.recordId = recordId
        self.hash = hash
        self.line = line
    }
}
