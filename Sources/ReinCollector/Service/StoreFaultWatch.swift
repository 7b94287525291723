import Foundation
import Logging
import ReinHolds
import ReinStore

/// Tells operators when the store stops taking writes: once when it loses
/// a sync of its log (``CollectorStore/durabilityFault``), and when the disk
/// under it fills up (``CollectorStore/diskFull``). A log line and, with
/// `alerts.webhook_url`, a message there.
///
/// Why: after a lost sync the collector refuses every write until it is
/// restarted; on a full disk, until someone frees space. Either way the
/// sidecars keep their records and nothing new is stored or verified.
/// `/healthz` fails after a lost sync and a liveness probe restarts it, but a
/// restart loop, or sidecars quietly retrying against a full disk, pages no
/// one. Checked every `period` (a lock and two reads), from the start.
final class StoreFaultWatch: Sendable {
    private let task: Task<Void, Never>

    /// `fullAlertSpacing`: a disk that frees a little and fills again within
    /// it is logged each time but posted to the webhook once.
    init(services: CollectorServices, period: Duration = .seconds(2), fullAlertSpacing: Duration = .seconds(3600)) {
        task = Task {
            var toldFault = false
            var full = false
            var lastFullAlert: ContinuousClock.Instant?
            while !Task.isCancelled {
                if !toldFault, let fault = services.store.durabilityFault {
                    Self.tell(fault, services: services)
                    toldFault = true
                }
                let nowFull = services.store.diskFull
                if nowFull != full {
                    full = nowFull
                    let now = ContinuousClock.now
                    let post = nowFull && (lastFullAlert.map { now - $0 >= fullAlertSpacing } ?? true)
                    if post { lastFullAlert = now }
                    Self.tellFull(nowFull, post: post, services: services)
                }
                do { try await Task.sleep(for: period) } catch { return }
            }
        }
    }

    func stop() { task.cancel() }

    private static func tell(_ fault: String, services: CollectorServices) {
        services.logger.critical("the collector's store lost a sync of its log: every write is refused until the collector is restarted", metadata: [
            "store.fault": "\(fault)",
        ])
        send(payload(fault: fault, consoleURL: services.configuration.alertsConsoleURL), alert: "store-sync-failed", services: services)
    }

    private static func tellFull(_ full: Bool, post: Bool, services: CollectorServices) {
        let database = services.configuration.resolvedDatabase
        guard full else {
            services.logger.notice("the collector's disk has room again: writes are stored", metadata: ["store.path": "\(database)"])
            return
        }
        let free = FileSystemSpace.available(under: database)
        services.logger.error("the collector's disk is full: writes are refused (503 InsufficientStorage) until space is freed", metadata: [
            "store.path": "\(database)", "store.disk_free_bytes": "\(free.map(String.init) ?? "unknown")",
        ])
        if post {
            send(payload(diskFullAt: database, freeBytes: free, consoleURL: services.configuration.alertsConsoleURL),
                 alert: "store-disk-full", services: services)
        }
    }

    private static func send(_ payload: [UInt8], alert: String, services: CollectorServices) {
        let logger = services.logger
        services.alerts?.send(payload, metadata: ["alert": "\(alert)"]) { outcome in
            if case .failed(let reason, let attempts) = outcome {
                logger.error("store alert webhook gave up", metadata: [
                    "alert": "\(alert)", "webhook.error": "\(reason)", "webhook.attempts": "\(attempts)",
                ])
            }
        }
    }

    /// The lost-sync alert's JSON: Slack-compatible like the other alerts, with the facts under `rein`.
    static func payload(fault: String, consoleURL: String?) -> [UInt8] {
        let text = "Rein: the collector's store lost a sync of its log (a disk error). It refuses every write until it is restarted; "
            + "sidecars keep their records and retry. Check the disk, then restart the collector: \(fault)"
        return payload(text: text, consoleURL: consoleURL, rein: ["alert": "store-sync-failed", "fault": fault])
    }

    /// The full-disk alert's JSON.
    static func payload(diskFullAt database: String, freeBytes: Int64?, consoleURL: String?) -> [UInt8] {
        let text = "Rein: the disk under the collector's store (\(database)) is full. Nothing more is stored until space is freed; "
            + "sidecars keep their records and retry, and their spools fill meanwhile. Free space or grow the volume: "
            + "the collector goes on by itself, no restart needed."
        var facts: [String: Any] = ["alert": "store-disk-full", "database": database]
        if let freeBytes { facts["disk_free_bytes"] = freeBytes }
        return payload(text: text, consoleURL: consoleURL, rein: facts)
    }

    private static func payload(text: String, consoleURL: String?, rein: [String: Any]) -> [UInt8] {
        var blocks: [[String: Any]] = [["type": "section", "text": ["type": "mrkdwn", "text": text]]]
        var links: [String: String] = [:]
        if let base = WebhookPayload.linkBase(consoleURL) {
            links["health"] = "\(base)/healthz"
            blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": "<\(base)/healthz|Collector health>"]]])
        }
        var facts = rein
        facts["links"] = links
        return WebhookPayload.encode(text: text, blocks: blocks, rein: facts)
    }
}
