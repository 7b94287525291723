/// What the proxy and collector can show, computed over a report's period
/// and scope. Catalog evidence rules name these; the set is closed so that
/// a catalog cannot claim evidence the engine never looks at.
public enum ComplianceSignal: String, Codable, Sendable, CaseIterable, Comparable {
    case callsAttributed = "calls-attributed"
    case decisionsRecorded = "decisions-recorded"
    case denialsEnforced = "denials-enforced"
    case holdsRaised = "holds-raised"
    case holdsDecided = "holds-decided"
    case policyVersions = "policy-versions"
    case policyLinted = "policy-linted"
    case credentialsBrokered = "credentials-brokered"
    case agentKeysTemporary = "agent-keys-temporary"
    case callTiming = "call-timing"
    case fleetInventory = "fleet-inventory"
    case fleetReporting = "fleet-reporting"
    case resourcesRecorded = "resources-recorded"
    case chainVerified = "chain-verified"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// One line for reports: what the signal is.
    public var summary: String {
        switch self {
        case .callsAttributed: return "Every call is attributed to an agent, a task and the agent's session key"
        case .decisionsRecorded: return "Every call has a recorded decision, policy statement and policy version"
        case .denialsEnforced: return "Out-of-scope calls were denied at runtime (enforce mode)"
        case .holdsRaised: return "Risky calls were held for a human instead of running automatically"
        case .holdsDecided: return "Holds were approved or denied by named approvers, with reasons"
        case .policyVersions: return "Allowlists are versioned centrally with author, time and message"
        case .policyLinted: return "Every agent's current allowlist passes lint with no error-level findings"
        case .credentialsBrokered: return "Forwarded calls were re-signed with short-lived broker credentials"
        case .agentKeysTemporary: return "Agents used only temporary session keys issued by the sidecar"
        case .callTiming: return "Calls carry timestamps and per-phase latency"
        case .fleetInventory: return "Sidecars and their agents are registered, with first and last seen"
        case .fleetReporting: return "Every agent in scope has a sidecar reporting, and none is silent"
        case .resourcesRecorded: return "Calls name their service, region, IAM actions and resources"
        case .chainVerified: return "Records sit under verified hash chains and signed checkpoints"
        }
    }
}

/// Something concrete that contradicts a control: a catalog lists the kinds
/// that turn a control into a `gap`.
public enum ComplianceFindingKind: String, Codable, Sendable, CaseIterable, Comparable {
    case wildcardGrant = "wildcard-grant"
    case noExpiry = "no-expiry"
    case privilegeEscalation = "privilege-escalation"
    case silentSidecar = "silent-sidecar"
    /// A sidecar was retired with audit records the collector never got (an accepted loss).
    case unshippedRecords = "unshipped-records"
    case agentWithoutSidecar = "agent-without-sidecar"
    case integrityFinding = "integrity-finding"
    case wrongPartyApproval = "wrong-party-approval"
    case longLivedAgentKey = "long-lived-agent-key"
    case staticBrokerCredentials = "static-broker-credentials"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A control's status in a report.
public enum ControlStatus: String, Codable, Sendable, CaseIterable {
    case evidenced
    case partial
    case gap
    case attestationNeeded = "attestation-needed"
    case notApplicable = "not-applicable"
}
