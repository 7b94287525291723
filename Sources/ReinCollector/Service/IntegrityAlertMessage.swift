import Foundation
import ReinHolds
import ReinAudit
import ReinStore

/// The JSON the integrity-alert webhook (`alerts.webhook_url`) receives for
/// the findings of one ingest: Slack-compatible (`text` plus `blocks`,
/// which Slack incoming webhooks render and other receivers can ignore),
/// and every finding in full under `rein` for receivers that act on it
/// (a SIEM, a pager).
///
/// Why one message per ingest and not per finding: one tampered batch can
/// hold thousands of findings (a sidecar shipping garbage); one message
/// with a count and the first few keeps a pager readable and the webhook's
/// queue short. Every finding stays stored and listed by
/// `GET /v1/audit/findings` whatever the webhook does.
enum IntegrityAlertMessage {
    /// How many findings `text` and `blocks` spell out (`rein.findings` has them all).
    static let listed = 5

    /// The message for `findings` (at least one), linking to `consoleURL` when set.
    static func payload(for findings: [StoredFinding], consoleURL: String?) -> [UInt8] {
        let sidecars = Array(Set(findings.map(\.finding.sidecarId))).sorted()
        let kinds = Dictionary(grouping: findings, by: \.finding.kind.rawValue).map { "\($0.key) × \($0.value.count)" }.sorted()
        let headline = findings.count == 1
            ? "Rein audit integrity finding on sidecar \(sidecars.joined())"
            : "Rein audit integrity: \(findings.count) findings on sidecar\(sidecars.count == 1 ? "" : "s") \(sidecars.joined(separator: ", "))"
        let lines = findings.prefix(listed).map { line(for: $0) }
        let more = findings.count > listed ? ["… and \(findings.count - listed) more"] : []
        let text = ([headline + " (" + kinds.joined(separator: ", ") + ")"] + lines + more).joined(separator: "\n")

        var blocks: [[String: Any]] = [
            ["type": "section", "text": ["type": "mrkdwn", "text": "*\(headline)*"]],
            ["type": "section", "text": ["type": "mrkdwn", "text": (lines + more).joined(separator: "\n")]],
        ]
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            for sidecar in sidecars {
                let query = sidecar.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? sidecar
                links[sidecar] = "\(base)/v1/audit/findings?sidecar=\(query)"
            }
            blocks.append(["type": "context", "elements": links.sorted { $0.key < $1.key }.map { sidecar, url in
                ["type": "mrkdwn", "text": "<\(url)|Findings of \(sidecar)>"]
            }])
        }
        return WebhookPayload.encode(text: text, blocks: blocks, rein: [
            "alert": "audit-integrity", "count": findings.count, "sidecars": sidecars,
            "findings": findings.map(fields(of:)), "links": links,
        ])
    }

    private static func line(for stored: StoredFinding) -> String {
        let f = stored.finding
        let place = f.sequence.map { "sequence \($0)" } ?? "no sequence"
        return "• #\(stored.id) \(f.kind.rawValue) at \(place) of \(f.sidecarId): \(f.detail)"
    }

    private static func fields(of stored: StoredFinding) -> [String: Any] {
        let f = stored.finding
        var out: [String: Any] = [
            "id": stored.id, "kind": f.kind.rawValue, "sidecar_id": f.sidecarId, "detail": f.detail, "found_ms": stored.foundAt,
        ]
        if let sequence = f.sequence { out["sequence"] = sequence }
        if let recordId = f.recordId { out["record_id"] = recordId }
        return out
    }
}
