/// A batch taken from a spool: chained record lines and checkpoint lines.
public struct Shipment: Sendable, Equatable {
    public let lines: [[UInt8]]
    public let recordCount: Int
    public let throughSequence: Int64

    public init(lines: [[UInt8]], recordCount: Int, throughSequence: Int64) {
        self.lines = lines
        self.recordCount = recordCount
        self.throughSequence = throughSequence
    }
}
