import Foundation
import Logging
import ReinHolds
import ReinUpstream

/// Calls the configured webhook when a hold is created, off the request
/// path: ``notify(_:)`` only queues, and one background thread posts the
/// Slack-compatible JSON (``HoldWebhookMessage``), retrying with
/// exponential backoff. A slow or failing webhook therefore delays no
/// request and no decision; each delivery (or final failure) is reported
/// through `onResult` for the audit trail.
public final class HoldNotifier: Sendable {
    public struct Settings: Sendable {
        public var url: String
        /// Shown in messages as the place to look at the hold (an API base URL).
        public var consoleURL: String?
        public var attempts: Int
        public var firstBackoff: Duration
        public var timeout: Double
        public var caBundlePath: String?

        public init(url: String, consoleURL: String? = nil, attempts: Int = 5, firstBackoff: Duration = .seconds(1),
                    timeout: Double = 5, caBundlePath: String? = nil) {
            self.url = url
            self.consoleURL = consoleURL
            self.attempts = attempts
            self.firstBackoff = firstBackoff
            self.timeout = timeout
            self.caBundlePath = caBundlePath
        }
    }

    public enum Outcome: Sendable {
        case delivered(status: Int, attempts: Int)
        case failed(reason: String, attempts: Int)
    }

    private let settings: Settings
    private let http: HTTPClient
    private let logger: Logger
    private let onResult: @Sendable (Hold, Outcome) -> Void
    private let condition = NSCondition()
    // Guarded by `condition`.
    nonisolated(unsafe) private var queue: [Hold] = []
    nonisolated(unsafe) private var stopped = false
    /// The most holds waiting for delivery; older ones are dropped (and logged) past it.
    static let queueLimit = 1000

    public init(settings: Settings, logger: Logger, onResult: @escaping @Sendable (Hold, Outcome) -> Void) {
        self.settings = settings
        http = HTTPClient(caBundlePath: settings.caBundlePath, maxResponseBytes: 64 << 10)
        self.logger = logger
        self.onResult = onResult
        let thread = Thread { [self] in run() }
        thread.name = "rein-hold-webhook"
        thread.start()
    }

    /// Queues a notification; never blocks.
    public func notify(_ hold: Hold) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return }
        if queue.count >= Self.queueLimit {
            let dropped = queue.removeFirst()
            logger.error("hold webhook queue full: a notification was dropped", metadata: ["hold.id": "\(dropped.id)"])
        }
        queue.append(hold)
        condition.signal()
    }

    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func next() -> Hold? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty, !stopped { condition.wait() }
        return stopped ? nil : queue.removeFirst()
    }

    private func run() {
        while let hold = next() {
            onResult(hold, deliver(hold))
        }
    }

    private func deliver(_ hold: Hold) -> Outcome {
        let body = HoldWebhookMessage.payload(for: hold, consoleURL: settings.consoleURL)
        var backoff = settings.firstBackoff
        var last = ""
        for attempt in 1...max(1, settings.attempts) {
            do {
                let response = try http.send(HTTPClientRequest(method: "POST", url: settings.url,
                                                               headers: [(name: "Content-Type", value: "application/json")],
                                                               body: body, timeout: settings.timeout))
                if (200..<300).contains(response.status) { return .delivered(status: response.status, attempts: attempt) }
                last = "HTTP \(response.status)"
            } catch {
                last = error.message
            }
            logger.warning("hold webhook delivery failed; retrying", metadata: [
                "hold.id": "\(hold.id)", "webhook.attempt": "\(attempt)", "webhook.error": "\(last)",
            ])
            if attempt < settings.attempts {
                let until = Date(timeIntervalSinceNow: Self.seconds(backoff))
                while Date() < until {
                    if isStopped { return .failed(reason: last + " (stopped while retrying)", attempts: attempt) }
                    Thread.sleep(forTimeInterval: min(0.1, max(0, until.timeIntervalSinceNow)))
                }
                backoff = backoff * 2
            }
        }
        return .failed(reason: last, attempts: settings.attempts)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
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
