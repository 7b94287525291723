import Foundation
import ReinHolds
import ReinStore

/// The JSON the alert webhook (`alerts.webhook_url`) receives when sidecars
/// go silent or report again (``FleetWatch``): Slack-compatible like
/// ``IntegrityAlertMessage``, with each sidecar's facts under `rein`.
enum FleetAlertMessage {
    static func payload(for changes: FleetWatch.Transitions, silentAfter: Int64, consoleURL: String?) -> [UInt8] {
        func describe(_ e: SidecarEntry) -> String {
            let seen = e.lastSeen.map(RFC3339Time.string(milliseconds:)) ?? "never"
            return "\(e.sidecarId) (agent \(e.agentId ?? "-"), task \(e.taskId ?? "-"), last seen \(seen))"
        }
        var lines: [String] = []
        if !changes.wentSilent.isEmpty {
            lines.append("Rein: \(changes.wentSilent.count) sidecar(s) went silent, no heartbeat or batch for more than \(silentAfter) s: "
                         + changes.wentSilent.map(describe).joined(separator: "; "))
        }
        if !changes.reportingAgain.isEmpty {
            lines.append("Rein: \(changes.reportingAgain.count) sidecar(s) reporting again: "
                         + changes.reportingAgain.map(describe).joined(separator: "; "))
        }
        let text = lines.joined(separator: "\n")
        var blocks: [[String: Any]] = lines.map { ["type": "section", "text": ["type": "mrkdwn", "text": $0]] }
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            links["fleet"] = "\(base)/v1/fleet"
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "<\(base)/v1/fleet|Fleet view>"]]])
        }
        func fields(_ e: SidecarEntry) -> [String: Any] {
            var out: [String: Any] = ["sidecar_id": e.sidecarId]
            if let agent = e.agentId { out["agent_id"] = agent }
            if let task = e.taskId { out["task_id"] = task }
            if let seen = e.lastSeen { out["last_seen_ms"] = seen }
            return out
        }
        return WebhookPayload.encode(text: text, blocks: blocks, rein: [
            "alert": "fleet", "silent_after_s": silentAfter, "went_silent": changes.wentSilent.map(fields),
            "reporting_again": changes.reportingAgain.map(fields), "links": links,
        ])
    }
}
