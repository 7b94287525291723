import Foundation

/// Group commit for concurrent ingest: batches that arrive while another
/// transaction is committing are stored together, in one transaction with a
/// savepoint per batch, and made durable by one fsync.
///
/// Why: with synchronous FULL, every commit waits for the disk; one
/// transaction per batch made that wait, not the CPU, the limit on ingest.
/// Many sidecars ship at once, so batches queue up while a commit is in
/// flight; the caller that finds no commit running becomes the leader,
/// takes everything queued (its own batch included) and commits it, while
/// the others wait for their own outcome. A batch that fails rolls back to
/// its savepoint and fails alone. Every caller still returns only after its
/// batch is durable, so an acknowledgement never precedes the commit.
///
/// The commit itself does not wait for the disk (the writer connection runs
/// `synchronous = NORMAL`): the leader gives up leadership as soon as the
/// transaction is committed, then syncs the log (``WALFileSync``) and only
/// then hands out the group's outcomes. The next leader's transaction thus
/// overlaps this one's fsync; measured, the wait inside the commit had left
/// a third of the two cores idle during ingest. The next group's fsync may
/// overlap this one's too (``WALFileSync`` does not serialise them): each
/// covers its own commit, and the disk here completes concurrent syncs
/// about as fast as one (measured: ingest +10%).
final class IngestGroupCommit: @unchecked Sendable {
    struct Pending {
        let id: UInt64
        let batch: AuditBatch
        let now: Int64
    }

    /// The most batches one transaction takes (bounds the leader's latency).
    static let maxBatches = 16

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Pending] = []
    private var results: [UInt64: Result<IngestOutcome, CollectorStoreError>] = [:]
    private var leading = false
    private var nextId: UInt64 = 0
    private(set) var commits: Int64 = 0
    private(set) var batches: Int64 = 0

    /// Stores `batch` through `commit`, which receives every batch of one
    /// group and returns an outcome per batch, in order.
    /// `sync` makes the committed group durable; its failure fails every batch of the group.
    func submit(_ batch: AuditBatch, at now: Int64,
                commit: ([Pending]) -> [Result<IngestOutcome, CollectorStoreError>],
                sync: () -> CollectorStoreError?) -> Result<IngestOutcome, CollectorStoreError> {
        condition.lock()
        defer { condition.unlock() }
        nextId &+= 1
        let id = nextId
        queue.append(Pending(id: id, batch: batch, now: now))
        while true {
            if let result = results.removeValue(forKey: id) { return result }
            // Lead only while batches wait: a caller whose batch another
            // leader took (and is syncing) waits for its outcome instead.
            if !leading, !queue.isEmpty {
                leading = true
                let group = Array(queue.prefix(Self.maxBatches))
                queue.removeFirst(group.count)
                condition.unlock()
                let outcomes = commit(group)
                condition.lock()
                leading = false
                commits += 1
                batches += Int64(group.count)
                condition.broadcast() // the next group may commit while this one syncs
                condition.unlock()
                let failure = sync()
                condition.lock()
                for (pending, outcome) in zip(group, outcomes) { results[pending.id] = failure.map { .failure($0) } ?? outcome }
                condition.broadcast()
                continue
            }
            condition.wait()
        }
    }

    /// (commits, batches) so far, for benchmarks.
    var stats: (commits: Int64, batches: Int64) {
        condition.lock()
        defer { condition.unlock() }
        return (commits, batches)
    }
}
