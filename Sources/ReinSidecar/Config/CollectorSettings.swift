/// Where and how the sidecar talks to the collector (the `collector:`
/// section): the shipper, registration, heartbeats and policy fetches read
/// these. No `url` means no collector: records stay in the local spool.
///
/// Why a separate struct: the shipper and the policy fetcher take the
/// section as one value, without the rest of the sidecar's configuration.
public struct CollectorSettings: Sendable, Equatable {
    /// How the sidecar learns of a new policy version.
    public enum PolicyFetch: String, Sendable, Equatable {
        /// A GET with `If-None-Match` and `?wait=`, held by the collector until a new version exists.
        case longPoll = "long-poll"
        /// A plain conditional GET every `policyInterval`.
        case interval
    }

    /// The collector's base URL (http or https), e.g. `https://collector.internal:7700`.
    public var url: String?
    /// The agent whose central policy to fetch when the sidecar has no
    /// policy file and no last-known-good copy (else the policy names it).
    public var agentId: String?
    /// A file holding the sidecar's bearer token (read at start, never logged).
    public var tokenFile: String?
    /// Trust for the collector's TLS certificate (default: the system store).
    public var caFile: String?
    /// The most records in one shipped batch.
    public var batchMaxRecords: Int
    /// The longest a record waits before a (smaller) batch is shipped.
    public var batchMaxInterval: Duration
    public var policyFetch: PolicyFetch
    /// The period of `interval` fetches, and the wait of a long poll.
    public var policyInterval: Duration
    public var heartbeatInterval: Duration

    public init() {
        url = nil
        agentId = nil
        tokenFile = nil
        caFile = nil
        batchMaxRecords = 1000
        batchMaxInterval = .seconds(1)
        policyFetch = .longPoll
        policyInterval = .seconds(30)
        heartbeatInterval = .seconds(15)
    }

    /// True when a collector is configured.
    public var isEnabled: Bool { url != nil }
}
