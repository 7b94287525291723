/// What a collector token may do (docs/collector-api.md, "Authentication and roles").
///
/// Why roles and not per-route lists: the issue fixes four duties that must
/// stay separate (a sidecar ships, an admin changes policy, an approver
/// decides holds, an auditor reads), plus a monitoring system that may see
/// the collector's metrics and nothing else, and separation of duties is checked by
/// role: an agent's or sidecar's credentials can never approve.
public enum CollectorRole: String, Sendable, Codable, CaseIterable {
    case sidecar
    case admin
    case approver
    case auditor
    /// A monitoring system: `GET /metrics` only (counts and ages, no records).
    case metrics
}
