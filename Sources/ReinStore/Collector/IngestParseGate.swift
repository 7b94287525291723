import Foundation

/// Lets at most one batch fewer than there are cores be decompressed and
/// parsed at a time, so that one core stays free for the single writer.
///
/// Why: concurrent batches are stored by one thread at a time (the group
/// commit, ``IngestGroupCommit``), while each batch is parsed and hashed
/// on one of the collector's eight blocking threads. With every thread
/// parsing, the kernel's fair scheduler gave the committing thread a share
/// of a core, not a core; the parses then finished, every thread waited for
/// that slow commit, and a core idled (1.40-1.50 of 2 cores busy).
/// Measured with this gate on 2 cores, 1,000-record batches, 13 interleaved
/// pairs: 1.54-1.71 cores busy, and ingest about 5% faster (median; from
/// -8% to +16%). It gains less than the cores do because commit groups get
/// smaller (2.1-2.6 batches per commit instead of 2.7-3.2), which costs
/// about 1.5 µs more CPU per record.
///
/// A parse waits only for another parse to end, never for the database,
/// so the gate cannot deadlock with the writer.
public final class IngestParseGate: @unchecked Sendable {
    // Why @unchecked is safe: `active` is read and written only while `condition` is locked.

    /// Shared by every store in the process: the cores are.
    public static let shared = IngestParseGate(slots: ProcessInfo.processInfo.activeProcessorCount - 1)

    public let slots: Int
    private let condition = NSCondition()
    private var active = 0

    public init(slots: Int) {
        self.slots = max(1, slots)
    }

    /// Runs `body` (decompressing and parsing one batch) once a slot is free.
    public func parsing<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        while active >= slots { condition.wait() }
        active += 1
        condition.unlock()
        defer {
            condition.lock()
            active -= 1
            condition.signal()
            condition.unlock()
        }
        return try body()
    }
}
