import Foundation
import ReinHolds
import ReinStore

/// The JSON the alert webhook (`alerts.webhook_url`) receives when sidecars
/// go silent or report again, or their clocks move off the collector's and
/// back (``FleetWatch``): Slack-compatible like ``IntegrityAlertMessage``,
/// with each sidecar's facts under `rein`.
enum FleetAlertMessage {
    static func payload(for changes: FleetWatch.Transitions, silentAfter: Int64, maxClockSkew: Int64, consoleURL: String?) -> [UInt8] {
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
        func skew(_ e: SidecarEntry) -> String {
            "\(e.sidecarId) (agent \(e.agentId ?? "-"), clock \(String(format: "%+.1f", Double(e.clockSkewMs ?? 0) / 1000)) s)"
        }
        if !changes.clockOff.isEmpty {
            lines.append("Rein: \(changes.clockOff.count) sidecar(s) with a clock off the collector's by more than \(maxClockSkew) s "
                         + "(their record times are off too): " + changes.clockOff.map(skew).joined(separator: "; "))
        }
        if !changes.clockBack.isEmpty {
            lines.append("Rein: \(changes.clockBack.count) sidecar(s) with a clock agreeing again: " + changes.clockBack.map(skew).joined(separator: "; "))
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
            if let skew = e.clockSkewMs { out["clock_skew_ms"] = skew }
            return out
        }
        return WebhookPayload.encode(text: text, blocks: blocks, rein: [
            "alert": "fleet", "silent_after_s": silentAfter, "max_clock_skew_s": maxClockSkew, "went_silent": changes.wentSilent.map(fields),
            "reporting_again": changes.reportingAgain.map(fields), "clock_off": changes.clockOff.map(fields),
            "clock_back": changes.clockBack.map(fields), "links": links,
        ])
    }
}
