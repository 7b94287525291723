import Foundation
import ReinHolds

/// The JSON the alert webhook (`alerts.webhook_url`) receives when the
/// collector's own backup fails (``BackupJob``): Slack-compatible like
/// ``FleetAlertMessage``, with the facts under `rein`.
enum BackupAlertMessage {
    static func payload(dir: String, error: String, consoleURL: String?) -> [UInt8] {
        let text = "Rein: the collector's backup into \(dir) failed; the previous backups are kept. \(error)"
        var blocks: [[String: Any]] = [["type": "section", "text": ["type": "mrkdwn", "text": text]]]
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            links["health"] = "\(base)/healthz"
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "<\(base)/healthz|Collector health>"]]])
        }
        return WebhookPayload.encode(text: text, blocks: blocks, rein: ["alert": "backup", "dir": dir, "error": error, "links": links])
    }
}
