/// The values `decision` and `event` take, as docs/audit-schema.md lists them.
///
/// Why a list: a query filter with a mistyped value (`--decision denied`)
/// would otherwise match nothing and look like a clean record; the
/// collector refuses a value outside these lists and names the ones it knows.
extension AuditRecord {
    /// What was decided: enforce mode's `allow` and `deny`; observe and learn
    /// modes' `would-deny` and `would-hold` (forwarded anyway); `hold` (a hold
    /// event before any decision), `hold-pending` (a held call answered
    /// "retry later"), `hold-approved`, `hold-denied`, `hold-expired`; `error`.
    public static let decisions = [
        "allow", "deny", "would-deny", "would-hold", "hold", "hold-pending", "hold-approved", "hold-denied", "hold-expired", "error",
    ]

    /// What happened: `call`, `policy-change`, `access-denied`,
    /// `token-change` (the collector's API tokens reloaded), `sidecar-retired`
    /// (an admin retired a sidecar that is gone) and the hold events
    /// (``decisions`` says how each ended).
    public static let events = [
        "call", "policy-change", "access-denied", "token-change", "sidecar-retired", "hold-created", "hold-notified", "hold-notify-failed", "hold-approved",
        "hold-denied", "hold-expired", "grant-used",
    ]

    /// `via` of the collector's own events (its API's refusals and policy
    /// changes, and holds it keeps): they are not AWS calls.
    public static let collectorVia = "collector-api"

    /// `via` of a sidecar's `policy-change` event when SIGHUP put an edited
    /// `policy_file` in force.
    public static let policyFileVia = "policy-file"
}
