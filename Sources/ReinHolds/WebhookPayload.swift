import Foundation

/// The shape every Rein webhook message shares: Slack-compatible `text`
/// and `blocks` (which Slack incoming webhooks render and other receivers
/// can ignore), and the facts under `rein` for receivers that act on them.
///
/// Why here: hold notifications (this module) and the collector's alerts
/// build their messages alike; one place decides the encoding and how a
/// configured console URL becomes a link base.
public enum WebhookPayload {
    /// `consoleURL` without trailing slashes; nil when unset or empty.
    public static func linkBase(_ consoleURL: String?) -> String? {
        guard let base = consoleURL?.trimmingCharacters(in: CharacterSet(charactersIn: "/")), !base.isEmpty else { return nil }
        return base
    }

    /// `{"text", "blocks", "rein"}` as JSON with sorted keys.
    public static func encode(text: String, blocks: [[String: Any]], rein: [String: Any]) -> [UInt8] {
        let body: [String: Any] = ["text": text, "blocks": blocks, "rein": rein]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }
}
