/// A sidecar's periodic report (`POST /v1/sidecars/heartbeat`), kept for the fleet view.
public struct SidecarHeartbeat: Sendable, Equatable {
    public var sidecarId: String
    public var agentId: String
    public var taskId: String?
    public var policyVersion: String?
    public var spoolDepth: Int64?
    public var spoolBytes: Int64?
    /// The last sequence the sidecar has written (shipped or not).
    public var lastSequence: Int64?
    public var ready: Bool?
    /// The sidecar's clock minus the collector's when the heartbeat arrived
    /// (milliseconds; nil when the sidecar did not say its time).
    public var clockSkewMs: Int64?
    /// Its last heartbeat: the sidecar is stopping (after shipping what it could).
    public var stopping: Bool

    public init(sidecarId: String, agentId: String, taskId: String? = nil, policyVersion: String? = nil, spoolDepth: Int64? = nil,
                spoolBytes: Int64? = nil, lastSequence: Int64? = nil, ready: Bool? = nil, clockSkewMs: Int64? = nil, stopping: Bool = false) {
        self.stopping = stopping
        self.sidecarId = sidecarId
        self.agentId = agentId
        self.taskId = taskId
        self.policyVersion = policyVersion
        self.spoolDepth = spoolDepth
        self.spoolBytes = spoolBytes
        self.lastSequence = lastSequence
        self.ready = ready
        self.clockSkewMs = clockSkewMs
    }
}

/// What a heartbeat did: recorded, or refused because no registration
/// bound the id yet, or because it is bound to another agent.
public enum HeartbeatOutcome: Sendable, Equatable {
    case recorded
    /// A stopping heartbeat with nothing left unshipped: the sidecar ended (``SidecarEnd/Kind/stopped``).
    case stopped
    /// A stopping heartbeat whose sidecar still holds records the collector
    /// does not have (`unshipped`): no end; it goes silent and is alerted.
    case stoppedWithBacklog(unshipped: Int64)
    case notRegistered
    case boundToAnotherAgent(String)
}
