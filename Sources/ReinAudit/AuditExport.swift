import Foundation

/// Maps audit records to the shapes SIEMs already read: OCSF API Activity
/// (class 6003) and CloudTrail events.
///
/// Why both: OCSF is what security data lakes (Security Lake, Splunk, …)
/// normalise to; the CloudTrail shape lets investigators join Rein's record
/// with AWS's own CloudTrail event through `requestID`. Everything Rein knows
/// beyond each schema's fields travels under `unmapped` /
/// `additionalEventData.rein`, so no decision detail is lost in export.
///
/// Rein's decision is not an outcome: an observe-mode `would-deny` that AWS
/// answered 200 succeeded, and an allowed call AWS refused failed. Outcome
/// fields (OCSF `status_id`, CloudTrail `errorCode`) say what happened to
/// the call; the decision stays with Rein's facts.
public enum AuditExport {
    public static let ocsfVersion = "1.1.0"

    /// What an export needs that a record does not carry. `signingName` maps
    /// a record's `service` (the SDK's model name, `cloudwatch`) to the name
    /// AWS logs the service by (`monitoring`: CloudTrail's `eventSource` is
    /// `monitoring.amazonaws.com`); the catalog knows it.
    public struct Naming: Sendable {
        public let signingName: @Sendable (String) -> String
        /// Whether (service, operation) only reads, by its IAM access level;
        /// nil when unknown (the operation's verb decides then).
        public let readOnly: @Sendable (String, String) -> Bool?
        public init(signingName: @escaping @Sendable (String) -> String,
                    readOnly: @escaping @Sendable (String, String) -> Bool? = { _, _ in nil }) {
            self.signingName = signingName
            self.readOnly = readOnly
        }
        /// For records whose service is already the signing name (tests, no catalog).
        public static let asRecorded = Naming { $0 }
    }

    /// What happened to the call or event, whatever Rein decided.
    enum Outcome { case success, failure, unknown }

    static func outcome(_ r: AuditRecord) -> Outcome {
        if r.errorCode == outcomeUnknown { return .unknown }
        switch r.event {
        case "call":
            guard r.forwarded else { return .failure }
            if let s = r.upstreamStatus { return (200..<400).contains(s) ? .success : .failure }
            return r.errorCode == nil ? .success : .failure
        case "access-denied", "hold-denied", "hold-expired", "hold-notify-failed": return .failure
        default: return .success
        }
    }

    /// The `error_code` of a forwarded call whose outcome a crash lost.
    static let outcomeUnknown = "OutcomeUnknown"

    /// The error a failed call ended with, as the agent's SDK saw it: AWS's
    /// code for a forwarded call, Rein's for a refused one; `OutcomeUnknown`
    /// for a call whose outcome a crash lost (not a success to anyone
    /// reading it). Nil when the call succeeded, and for hold and policy
    /// events (their decision says it).
    static func errorCode(_ r: AuditRecord) -> String? {
        guard r.event == "call" || r.event == "access-denied" else { return nil }
        if outcome(r) == .unknown { return outcomeUnknown }
        guard outcome(r) == .failure else { return nil }
        if let code = r.errorCode { return code }
        if r.forwarded, let s = r.upstreamStatus { return String(s) }
        return "AccessDenied"
    }

    /// What a failed call's error said: for a call AWS refused, that AWS
    /// answered so (the record keeps AWS's code, not its message, and its
    /// reason is the statement that allowed the call); for a call cut short,
    /// that; else the record's reason (Rein's refusal, an upstream failure,
    /// a lost outcome).
    static func errorMessage(_ r: AuditRecord) -> String? {
        if r.event == "call", r.forwarded {
            if let s = r.upstreamStatus, s >= 400 { return "AWS answered HTTP \(s)" + (r.errorCode.map { " (\($0))" } ?? "") }
            if r.errorCode == "ClientClosed" { return "the agent closed the connection before AWS's answer was complete" }
        }
        return r.reason
    }

    /// OCSF `activity_id` from the operation name's verb.
    public static func ocsfActivity(_ operation: String?) -> (id: Int, name: String) {
        guard let op = operation else { return (0, "Unknown") }
        for v in verbs where v.prefixes.contains(where: { op.hasPrefix($0) }) { return (v.id, v.name) }
        return (99, "Other")
    }

    private static let verbs: [(prefixes: [String], id: Int, name: String)] = [
        (["Create", "Put", "Run", "Send", "Publish", "Upload", "Copy", "Add", "Import", "Register", "Issue", "BatchWrite"], 1, "Create"),
        (["Get", "List", "Describe", "Head", "Query", "Scan", "Select", "Search", "Receive", "Lookup", "BatchGet", "Check", "Decode", "Decrypt"], 2, "Read"),
        (["Update", "Modify", "Set", "Tag", "Untag", "Attach", "Associate", "Change", "Enable", "Disable", "Reset", "Restore",
          "Replace", "Rotate", "Start", "Stop"], 3, "Update"),
        (["Delete", "Remove", "Terminate", "Detach", "Disassociate", "Purge", "Revoke", "Deregister", "Cancel", "Abort", "Retire"], 4, "Delete"),
    ]

    /// Epoch milliseconds of an RFC 3339 record time (0 when unparsable).
    static func epochMillis(_ time: String) -> Int64 {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Cut to the millisecond, never rounded up into the next second.
        if let d = f.date(from: time) { return Int64((d.timeIntervalSince1970 * 1000).rounded(.down)) }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: time).map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0
    }

    /// Rein's own facts, kept under `unmapped` / `additionalEventData.rein`.
    static func reinFacts(_ r: AuditRecord) -> [String: Any] {
        var m: [String: Any] = ["decision": r.decision, "event": r.event, "sidecar_id": r.sidecarId,
                                "sequence": r.sequence, "via": r.via, "forwarded": r.forwarded,
                                "bytes_in": r.bytesIn, "bytes_out": r.bytesOut,
                                "grants": r.grants.map { ["action": $0.action, "resources": $0.resources] as [String: Any] }]
        let optional: [(String, Any?)] = [
            ("agent_id", r.agentId), ("task_id", r.taskId), ("service", r.service), ("operation", r.operation), ("statement_id", r.statementId),
            ("reason", r.reason), ("mode", r.mode), ("approver", r.approver), ("grant_id", r.grantId), ("hold_id", r.holdId),
            ("policy_version", r.policyVersion), ("broker_role", r.brokerRole), ("broker_session", r.brokerSession),
            ("broker_source", r.brokerSource), ("upstream_host", r.upstreamHost), ("upstream_status", r.upstreamStatus),
            ("error_code", r.errorCode), ("prev_hash", r.prevHash), ("hash", r.hash),
        ]
        for (k, v) in optional { if let v { m[k] = v } }
        var latency: [String: Any] = [:]
        for (k, v) in [("verify_ms", r.latency.verifyMs), ("decide_ms", r.latency.decideMs), ("hold_ms", r.latency.holdMs),
                       ("upstream_ms", r.latency.upstreamMs), ("total_ms", r.latency.totalMs)] {
            if let v { latency[k] = v }
        }
        m["latency"] = latency
        return m
    }

    /// Which part of Rein wrote the record: the collector's own chain (its
    /// API's refusals and policy changes, holds kept centrally) or a sidecar.
    static func producer(_ r: AuditRecord) -> String {
        r.via == AuditRecord.collectorVia ? "rein-collector" : "rein-sidecar"
    }

    /// A hold event (`hold-created` … `grant-used`) is about a call, not the
    /// call: it keeps the call's service and operation, but exports under a
    /// name of its own, so that a SIEM rule for a successful `DeleteObject`
    /// never fires on a delete that was only held.
    static func isHoldEvent(_ r: AuditRecord) -> Bool {
        r.event.hasPrefix("hold-") || r.event == "grant-used"
    }

    /// `hold-created` → `HoldCreated`: CloudTrail's event-name style.
    static func pascalCase(_ event: String) -> String {
        event.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// An event of Rein's own, not an AWS call: the collector API's
    /// (`policy-change`, `access-denied`, `token-change`, `sidecar-retired`) and a sidecar's
    /// `policy_file` reload. It has no AWS event source or region, and its
    /// actor is a collector token or the configuration, not the agent.
    static func isReinOwnEvent(_ r: AuditRecord) -> Bool {
        (r.via == AuditRecord.collectorVia && ["policy-change", "access-denied", "token-change", "sidecar-retired"].contains(r.event))
            || (r.via == AuditRecord.policyFileVia && r.event == "policy-change")
    }

    /// `host[:port]` split for endpoint objects.
    static func hostAndPort(_ hostPort: String) -> (host: String, port: Int?) {
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            let host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let rest = hostPort[hostPort.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        if let colon = hostPort.lastIndex(of: ":"), hostPort.firstIndex(of: ":") == colon, let port = Int(hostPort[hostPort.index(after: colon)...]) {
            return (String(hostPort[..<colon]), port)
        }
        return (hostPort, nil)
    }

    /// An IPv4 or IPv6 literal (a bucket host such as `2026-data.s3…` is not).
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// One JSON object as compact bytes with sorted keys (reproducible output).
    public static func jsonBytes(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
