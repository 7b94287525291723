import Foundation
import Logging
import ReinHolds
import ReinStore

/// Tells operators once when the store loses a sync of its log
/// (``CollectorStore/durabilityFault``): a critical log line and, with
/// `alerts.webhook_url`, a message there.
///
/// Why: from then on the collector refuses every write until it is
/// restarted, so sidecars keep their records and nothing new is stored or
/// verified. `/healthz` fails and a liveness probe restarts it, but a disk
/// that keeps losing writes needs a person, and a restart loop alone pages
/// no one. Checked every `period` (a lock and a read), from the start.
final class StoreFaultWatch: Sendable {
    private let task: Task<Void, Never>

    init(services: CollectorServices, period: Duration = .seconds(2)) {
        task = Task {
            while !Task.isCancelled {
                if let fault = services.store.durabilityFault {
                    Self.tell(fault, services: services)
                    return
                }
                do { try await Task.sleep(for: period) } catch { return }
            }
        }
    }

    func stop() { task.cancel() }

    private static func tell(_ fault: String, services: CollectorServices) {
        let logger = services.logger
        logger.critical("the collector's store lost a sync of its log: every write is refused until the collector is restarted", metadata: [
            "store.fault": "\(fault)",
        ])
        services.alerts?.send(payload(fault: fault, consoleURL: services.configuration.alertsConsoleURL),
                              metadata: ["alert": "store-sync-failed"]) { outcome in
            if case .failed(let reason, let attempts) = outcome {
                logger.error("store fault alert webhook gave up", metadata: ["webhook.error": "\(reason)", "webhook.attempts": "\(attempts)"])
            }
        }
    }

    /// The webhook's JSON: Slack-compatible like the other alerts, with the facts under `rein`.
    static func payload(fault: String, consoleURL: String?) -> [UInt8] {
        let text = "Rein: the collector's store lost a sync of its log (a disk error). It refuses every write until it is restarted; "
            + "sidecars keep their records and retry. Check the disk, then restart the collector: \(fault)"
        var blocks: [[String: Any]] = [["type": "section", "text": ["type": "mrkdwn", "text": text]]]
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            links["health"] = "\(base)/healthz"
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "<\(base)/healthz|Collector health>"]]])
        }
        return WebhookPayload.encode(text: text, blocks: blocks, rein: ["alert": "store-sync-failed", "fault": fault, "links": links])
    }
}
