import ReinAudit

/// What the collector knows about one sidecar: registration, last
/// heartbeat, and the state of its chain as ingested.
///
/// Why the chain head lives here: ingest resumes each sidecar's
/// ``ChainVerifier`` from it, in the same transaction that stores the
/// batch, so a crash can never leave the head and the records disagreeing.
public struct SidecarEntry: Sendable, Equatable {
    public var sidecarId: String
    public var agentId: String?
    public var taskId: String?
    /// The pinned checkpoint key (hex), nil until the sidecar registers.
    public var publicKey: String?
    public var version: String?
    public var registeredBy: String?
    public var policyVersion: String?
    public var spoolDepth: Int64?
    public var spoolBytes: Int64?
    /// The last sequence the sidecar reported in a heartbeat.
    public var reportedSequence: Int64?
    /// The highest sequence stored.
    public var storedSequence: Int64
    /// Epoch milliseconds of the last registration, heartbeat or batch.
    public var lastSeen: Int64?
    public var ready: Bool?
    /// The verifier's head after the last ingested record.
    public var head: AuditChain
    /// Integrity findings stored for this sidecar.
    public var findings: Int
    /// Epoch milliseconds of its first registration (nil: never registered).
    public var registeredMs: Int64?
    /// Its clock minus the collector's at its last heartbeat (milliseconds;
    /// nil until a heartbeat says its time). Record times, which queries,
    /// exports and report days use, come from the sidecar's clock.
    public var clockSkewMs: Int64?
    /// Set when it stopped cleanly or was retired; cleared when it reports again.
    public var end: SidecarEnd?

    public init(sidecarId: String, agentId: String? = nil, taskId: String? = nil, publicKey: String? = nil, version: String? = nil,
                registeredBy: String? = nil, policyVersion: String? = nil, spoolDepth: Int64? = nil, spoolBytes: Int64? = nil,
                reportedSequence: Int64? = nil, storedSequence: Int64 = 0, lastSeen: Int64? = nil, ready: Bool? = nil,
                head: AuditChain = AuditChain(), findings: Int = 0, registeredMs: Int64? = nil, clockSkewMs: Int64? = nil, end: SidecarEnd? = nil) {
        self.end = end
        self.registeredMs = registeredMs
        self.clockSkewMs = clockSkewMs
        self.sidecarId = sidecarId
        self.agentId = agentId
        self.taskId = taskId
        self.publicKey = publicKey
        self.version = version
        self.registeredBy = registeredBy
        self.policyVersion = policyVersion
        self.spoolDepth = spoolDepth
        self.spoolBytes = spoolBytes
        self.reportedSequence = reportedSequence
        self.storedSequence = storedSequence
        self.lastSeen = lastSeen
        self.ready = ready
        self.head = head
        self.findings = findings
    }
}

extension SidecarEntry {
    /// Silent: no registration, heartbeat or batch within `silentAfter`
    /// seconds before `now` (epoch milliseconds). The fleet view shows it and
    /// the collector's fleet watch alerts on the change. A sidecar that
    /// ended (``SidecarEnd``) is not silent: nothing more is owed.
    public func isSilent(now: Int64, silentAfter seconds: Int64) -> Bool {
        if end != nil { return false }
        guard let seen = lastSeen else { return true }
        return now - seen > seconds * 1000
    }

    /// Its clock is off the collector's by more than `seconds` either way.
    public func isClockSkewed(beyond seconds: Int64) -> Bool {
        guard let skew = clockSkewMs else { return false }
        return skew.magnitude > UInt64(seconds) * 1000
    }
}
