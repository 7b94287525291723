/// One page of stored records and where the next page starts.
///
/// Why `nextCursor` can pass records that were not returned: when a page is
/// not full, every record up to the newest one at query time was examined,
/// so the next query (or a long-poll) can start after all of them instead of
/// re-reading records the filters exclude.
public struct RecordPage: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        public let cursor: Int64
        /// The chained line as shipped, without a trailing newline.
        public let line: [UInt8]
        /// Where the record sits: which sidecar's chain, at which sequence.
        public let sidecarId: String
        public let sequence: Int64

        public init(cursor: Int64, line: [UInt8], sidecarId: String, sequence: Int64) {
            self.cursor = cursor
            self.line = line
            self.sidecarId = sidecarId
            self.sequence = sequence
        }
    }

    public var records: [Record]
    public var nextCursor: Int64

    public init(records: [Record], nextCursor: Int64) {
        self.records = records
        self.nextCursor = nextCursor
    }
}
