/// Something that happened to a hold, for the audit trail of whoever keeps
/// it: `hold-created`, `hold-approved`, `hold-denied`, `hold-expired`,
/// `hold-notified`, `grant-used`.
///
/// Codable: a ledger keeps each event in an outbox, written with the
/// transition that made it, until its owner has recorded it.
public struct HoldEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case created = "hold-created"
        case approved = "hold-approved"
        case denied = "hold-denied"
        case expired = "hold-expired"
        case notified = "hold-notified"
        case notifyFailed = "hold-notify-failed"
        case grantUsed = "grant-used"
    }

    public let kind: Kind
    public let hold: Hold
    /// The person or token that acted (an approver, a sidecar), when one did.
    public let actor: String?
    public let grant: HoldGrant?
    /// What happened, in words (a webhook's answer, a denial's reason).
    public let detail: String?
    public let atMs: Int64

    public init(kind: Kind, hold: Hold, actor: String?, grant: HoldGrant? = nil, detail: String? = nil, atMs: Int64) {
        self.kind = kind
        self.hold = hold
        self.actor = actor
        self.grant = grant
        self.detail = detail
        self.atMs = atMs
    }
}
