/// How a sidecar's service ended: it said so in its last heartbeat as it
/// stopped with nothing left to ship, or an admin retired it.
///
/// Why the collector keeps this: in Kubernetes every rollout and reschedule
/// brings new pod names, so new sidecar ids, and the old ids never report
/// again. Without an end, each would be flagged silent for ever: `rein
/// fleet` would exit 2 after every deploy, the fleet alert would fire for
/// pods that were deleted on purpose, and reports would show evidence gaps
/// that are not gaps. A sidecar that stopped with records still spooled
/// gets no end (its records are not here yet): it goes silent, and is
/// alerted, until it starts again with its state directory or an admin
/// retires it, accepting the loss on the record.
public struct SidecarEnd: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Its last heartbeat said it was stopping, with an empty spool.
        case stopped
        /// An admin retired it (`POST /v1/sidecars/{id}/retire`).
        case retired
    }

    public var kind: Kind
    /// Epoch milliseconds (the collector's clock).
    public var atMs: Int64
    /// The admin token's name (retired only).
    public var by: String?
    /// Why (retired only).
    public var reason: String?

    public init(kind: Kind, atMs: Int64, by: String? = nil, reason: String? = nil) {
        self.kind = kind
        self.atMs = atMs
        self.by = by
        self.reason = reason
    }
}

/// What a retirement did (``CollectorStore/retireSidecar(_:by:reason:at:unlessSeenSince:event:)``).
public enum SidecarRetirement: Sendable, Equatable {
    /// Retired now (its `sidecar-retired` event stored in the same transaction).
    case retired(SidecarEntry)
    /// It was retired before: nothing changed.
    case alreadyRetired(SidecarEntry)
    /// It reported at `lastSeen` (epoch ms), after the cutoff, and has not stopped: not retired.
    case active(lastSeen: Int64)
    case notFound
}
