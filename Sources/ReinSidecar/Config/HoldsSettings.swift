import ReinHolds

/// The `holds:` section: how long a held call waits, when an undecided hold
/// expires, the longest scoped approval, and, for a standalone sidecar
/// (no collector), who may approve on the admin listener and which webhook
/// hears of new holds.
///
/// ```yaml
/// holds:
///   wait: 20s                  # then a retryable error; the SDK's retry attaches to the same hold
///   expire: 15m                # undecided holds become expired (denied)
///   max_grant: 1h              # the longest "--for" of a scoped approval
///   default_grant: 15m         # a scoped approval given without "--for" (at most max_grant)
///   allow_owner_approval: false
///   webhook_url: https://hooks.slack.com/services/...
///   console_url: https://sidecar-admin.internal:7475
///   database: .rein/holds.sqlite  # standalone holds (default state_dir/holds.sqlite)
///   tokens:                    # standalone approvers (digests from `rein collector hash-token`)
///     - {name: alice, roles: [approver], sha256: <64 hex>, owns_agents: [other-agent]}
/// ```
public struct HoldsSettings: Sendable, Equatable {
    public var wait: Duration = .seconds(20)
    public var expire: Duration = .seconds(15 * 60)
    public var maxGrant: Duration = .seconds(60 * 60)
    public var defaultGrant: Duration = .seconds(15 * 60)
    public var allowOwnerApproval = false
    public var webhookURL: String?
    public var consoleURL: String?
    public var tokens: [HoldTokenBook.Entry] = []
    /// The standalone holds database (default `state_dir/holds.sqlite`).
    public var databasePath: String?

    public init() {}

    public var ledgerSettings: HoldSettings {
        HoldSettings(expire: expire, maxGrant: maxGrant, defaultGrant: min(defaultGrant, maxGrant), allowOwnerApproval: allowOwnerApproval)
    }
}
