import Logging
import ReinAudit

/// What the spool's writer knows of a full disk under the spool: since when
/// its writes are refused, and the outcomes of forwarded calls it could not
/// write.
///
/// Why the writer goes on instead of failing for good: SQLite rolls a write
/// refused for want of space (`SQLITE_FULL`) back whole, so the spool is
/// exactly as before it, and the same write succeeds once space is freed.
/// Unlike a failed sync (``WALFileSync``), nothing the disk held is in
/// doubt, so no restart is needed to read the chain back.
///
/// Why outcomes are held: such a call's intent is stored and the call went
/// to AWS; its record, with what AWS answered, is kept here and sealed first
/// once there is room, rather than left to be sealed "outcome unknown" at the
/// next start. The list is bounded by the calls in flight when the disk
/// filled: while it stays full no intent is stored, so nothing is forwarded.
struct SpoolDiskFull {
    /// When the current episode began; nil while writes commit.
    private(set) var since: ContinuousClock.Instant?
    private var refusedGroups = 0
    private var held: [(IntentTicket, PreparedRecord)] = []

    var holdsOutcomes: Bool { !held.isEmpty }
    var heldCount: Int { held.count }

    /// The held outcomes as operations to seal ahead of the queued ones.
    /// Their callers heard of the refusal already, so a success is only
    /// logged; one refused again is held again by ``refused(_:at:path:logger:)``.
    mutating func takeHeld(logger: Logger) -> [SpoolWriter.Operation] {
        guard !held.isEmpty else { return [] }
        defer { held.removeAll() }
        return held.map { ticket, record in
            .complete(ticket, record, { result in
                guard case .success(let sealed) = result else { return }
                logger.notice("recorded the outcome of a call held for a full disk", metadata: [
                    "audit.record_id": "\(ticket.recordId)", "audit.sequence": "\(sealed.sequence)",
                ])
            })
        }
    }

    /// A group refused for a full disk: its completions are held, and the
    /// episode is logged once, not per group.
    mutating func refused(_ ops: [SpoolWriter.Operation], at now: ContinuousClock.Instant, path: String, logger: Logger) {
        for op in ops {
            if case .complete(let ticket, let record, _) = op { held.append((ticket, record)) }
        }
        refusedGroups += 1
        guard since == nil else { return }
        since = now
        logger.error("the disk under the audit spool is full: refusing calls until space is freed there", metadata: [
            "audit.spool": "\(path)", "audit.held_outcomes": "\(held.count)",
        ])
    }

    /// A group committed: the episode, if any, is over.
    mutating func committed(at now: ContinuousClock.Instant, path: String, logger: Logger) {
        guard let since else { return }
        logger.notice("the disk under the audit spool has room again: writes go on", metadata: [
            "audit.spool": "\(path)", "audit.full_for": "\(now - since)", "audit.refused_groups": "\(refusedGroups)",
        ])
        self.since = nil
        refusedGroups = 0
    }
}
