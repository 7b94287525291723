/// How large the shipper's batches may be now.
///
/// Why it moves: a proxy before the collector may take smaller bodies than
/// the collector (a 413). Halving at each 413, down to one record, lets
/// shipping go on rather than sending the same batch for ever; growing
/// back (doubling after a run of batches that went through) means one
/// oversized record, or a proxy fixed since, does not leave the sidecar
/// shipping one record per round trip until it restarts.
struct BatchLimits: Sendable, Equatable {
    let configuredRecords: Int
    let configuredBytes: Int
    private(set) var records: Int
    private(set) var bytes: Int
    private var goodSinceChange = 0

    /// Batches that must go through before the limits double again.
    static let growAfter = 20
    static let minimumBytes = 64 << 10

    init(records: Int, bytes: Int) {
        configuredRecords = records
        configuredBytes = bytes
        self.records = records
        self.bytes = bytes
    }

    var isReduced: Bool { records < configuredRecords || bytes < configuredBytes }

    /// After a 413: half as much, never below one record or 64 KiB.
    mutating func shrink() {
        records = max(1, records / 2)
        bytes = max(min(Self.minimumBytes, configuredBytes), bytes / 2)
        goodSinceChange = 0
    }

    /// After a batch went through; true when the limits grew.
    mutating func succeeded() -> Bool {
        guard isReduced else { return false }
        goodSinceChange += 1
        guard goodSinceChange >= Self.growAfter else { return false }
        records = min(configuredRecords, records * 2)
        bytes = min(configuredBytes, bytes * 2)
        goodSinceChange = 0
        return true
    }
}
