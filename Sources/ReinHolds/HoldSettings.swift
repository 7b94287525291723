/// How holds behave, shared by the sidecar (standalone) and the collector.
public struct HoldSettings: Sendable, Equatable {
    /// An undecided hold becomes expired (denied) after this long.
    public var expire: Duration
    /// The longest scoped approval an approver may give.
    public var maxGrant: Duration
    /// The default length of a scoped approval without `--for`.
    public var defaultGrant: Duration
    /// When false (the default), an approver cannot decide holds of agents
    /// they own (separation of duties).
    public var allowOwnerApproval: Bool

    public init(expire: Duration = .seconds(15 * 60), maxGrant: Duration = .seconds(60 * 60),
                defaultGrant: Duration = .seconds(15 * 60), allowOwnerApproval: Bool = false) {
        self.expire = expire
        self.maxGrant = maxGrant
        self.defaultGrant = defaultGrant
        self.allowOwnerApproval = allowOwnerApproval
    }

    public static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    public var expireMs: Int64 { Self.milliseconds(expire) }
}
