/// A batch line that is neither a chained record nor a checkpoint.
public struct AuditBatchError: Error, Sendable, CustomStringConvertible {
    /// 1-based line number in the (decompressed) body.
    public let line: Int
    public let reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}
