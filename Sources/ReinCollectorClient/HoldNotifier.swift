import Foundation
import Logging
import ReinHolds

/// Calls the configured webhook when a hold is created, with the
/// Slack-compatible JSON of ``HoldWebhookMessage``, through a
/// ``WebhookSender`` (queued, retried with exponential backoff, off the
/// request path). A slow or failing webhook therefore delays no request and
/// no decision; each delivery (or final failure) is reported through
/// `onResult` for the audit trail.
public final class HoldNotifier: Sendable {
    public struct Settings: Sendable {
        /// Where, and how hard to retry.
        public var webhook: WebhookSender.Settings
        /// Shown in messages as the place to look at the hold (an API base URL).
        public var consoleURL: String?

        public init(url: String, consoleURL: String? = nil) {
            webhook = WebhookSender.Settings(url: url)
            self.consoleURL = consoleURL
        }
    }

    public typealias Outcome = WebhookSender.Outcome

    private let sender: WebhookSender
    private let consoleURL: String?
    private let onResult: @Sendable (Hold, Outcome) -> Void

    public init(settings: Settings, logger: Logger, onResult: @escaping @Sendable (Hold, Outcome) -> Void) {
        sender = WebhookSender(settings: settings.webhook, purpose: "hold", logger: logger)
        consoleURL = settings.consoleURL
        self.onResult = onResult
    }

    /// Queues a notification; never blocks.
    public func notify(_ hold: Hold) {
        let onResult = onResult
        sender.send(HoldWebhookMessage.payload(for: hold, consoleURL: consoleURL), metadata: ["hold.id": "\(hold.id)"]) { outcome in
            onResult(hold, outcome)
        }
    }

    public func stop() { sender.stop() }
}

extension HoldNotifier {
    /// A notifier whose deliveries (and final failures) become
    /// `hold-notified` / `hold-notify-failed` events through `record`: how
    /// both the collector and a standalone sidecar wire their webhook.
    public static func recording(url: String, consoleURL: String?, logger: Logger,
                                 record: @escaping @Sendable (HoldEvent) -> Void) -> HoldNotifier {
        HoldNotifier(settings: .init(url: url, consoleURL: consoleURL), logger: logger) { hold, outcome in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            switch outcome {
            case .delivered(let status, let attempts):
                record(HoldEvent(kind: .notified, hold: hold, actor: "webhook", detail: "HTTP \(status) after \(attempts) attempt(s)", atMs: now))
            case .failed(let reason, let attempts):
                record(HoldEvent(kind: .notifyFailed, hold: hold, actor: "webhook", detail: "\(reason) after \(attempts) attempt(s)", atMs: now))
            }
        }
    }
}
