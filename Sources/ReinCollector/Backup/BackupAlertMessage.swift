import Foundation
import ReinHolds

/// The JSON the alert webhook (`alerts.webhook_url`) receives when the
/// collector's own backup fails (``BackupJob``): Slack-compatible like
/// ``FleetAlertMessage``, with the facts under `rein`.
enum BackupAlertMessage {
    static func payload(dir: String, error: String, consoleURL: String?) -> [UInt8] {
        payload(text: "Rein: the collector's backup into \(dir) failed; the previous backups are kept. \(error)",
                facts: ["alert": "backup", "dir": dir, "error": error], consoleURL: consoleURL)
    }

    /// Copying a whole local backup to `backup.copy_to` failed (``BackupCopy``).
    static func copyPayload(backup: String, destination: String, error: String, consoleURL: String?) -> [UInt8] {
        payload(text: "Rein: copying the collector's backup \(backup) to \(destination) failed; the local backup is kept and the copy is tried again. \(error)",
                facts: ["alert": "backup-copy", "backup": backup, "destination": destination, "error": error], consoleURL: consoleURL)
    }

    private static func payload(text: String, facts: [String: String], consoleURL: String?) -> [UInt8] {
        var blocks: [[String: Any]] = [["type": "section", "text": ["type": "mrkdwn", "text": text]]]
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            links["health"] = "\(base)/healthz"
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "<\(base)/healthz|Collector health>"]]])
        }
        var rein: [String: Any] = facts
        rein["links"] = links
        return WebhookPayload.encode(text: text, blocks: blocks, rein: rein)
    }
}
