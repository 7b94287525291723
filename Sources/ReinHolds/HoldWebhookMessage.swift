import Foundation

/// The JSON a hold's webhook receives: Slack-compatible (`text` plus
/// `blocks`, which Slack incoming webhooks render and other receivers can
/// ignore), with the hold id, who and what is waiting, and links.
public enum HoldWebhookMessage {
    /// `consoleURL`, when configured, is where approvers look at holds
    /// (the collector's or sidecar's API base); links go to the hold there.
    public static func payload(for hold: Hold, consoleURL: String?) -> [UInt8] {
        let actions = hold.grants.map(\.action).joined(separator: ", ")
        let resources = hold.grants.flatMap(\.resources).prefix(5).joined(separator: ", ")
        let expires = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(hold.expiresMs) / 1000))
        let text = "Rein hold \(hold.id): agent \(hold.agentId) (task \(hold.taskId)) wants \(actions) on \(resources.isEmpty ? "(no resource)" : resources). Approve with `rein holds approve \(hold.id) --reason …` before \(expires)."
        var fields: [[String: String]] = [
            ["type": "mrkdwn", "text": "*Agent*\n\(hold.agentId)"],
            ["type": "mrkdwn", "text": "*Task*\n\(hold.taskId)"],
            ["type": "mrkdwn", "text": "*Operation*\n\(hold.operation)"],
            ["type": "mrkdwn", "text": "*Expires*\n\(expires)"],
        ]
        if let statement = hold.statementId { fields.append(["type": "mrkdwn", "text": "*Statement*\n\(statement)"]) }
        var blocks: [[String: Any]] = [
            ["type": "section", "text": ["type": "mrkdwn", "text": "*Hold \(hold.id)*: \(actions) on `\(resources.isEmpty ? "-" : resources)`"]],
            ["type": "section", "fields": fields],
        ]
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            links["hold"] = "\(base)/v1/holds/\(hold.id)"
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "<\(base)/v1/holds/\(hold.id)|View hold \(hold.id)>"]]])
        }
        return WebhookPayload.encode(text: text, blocks: blocks, rein: [
            "hold_id": hold.id, "agent_id": hold.agentId, "task_id": hold.taskId, "operation": hold.operation,
            "actions": hold.grants.map(\.action), "resources": hold.grants.flatMap(\.resources),
            "expires_ms": hold.expiresMs, "links": links,
        ])
    }
}
