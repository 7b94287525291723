import Foundation
import Logging
import ReinUpstream

/// Posts JSON messages to one webhook off the caller's path: ``send(_:metadata:done:)``
/// only queues, and one background thread posts, retrying with exponential
/// backoff.
///
/// Why a queue and a thread of its own: a webhook is somebody else's
/// server. A slow or failing one must delay no request, no hold decision
/// and no ingest; what it was told (or not) is reported through each
/// message's `done`. Hold notifications (``HoldNotifier``) and the
/// collector's alerts (integrity findings, silent sidecars) share this.
public final class WebhookSender: Sendable {
    public struct Settings: Sendable {
        public var url: String
        public var attempts: Int
        public var firstBackoff: Duration
        public var timeout: Double
        public var caBundlePath: String?

        public init(url: String, attempts: Int = 5, firstBackoff: Duration = .seconds(1), timeout: Double = 5,
                    caBundlePath: String? = nil) {
            self.url = url
            self.attempts = attempts
            self.firstBackoff = firstBackoff
            self.timeout = timeout
            self.caBundlePath = caBundlePath
        }
    }

    public enum Outcome: Sendable, Equatable {
        case delivered(status: Int, attempts: Int)
        case failed(reason: String, attempts: Int)
    }

    private struct Message {
        let body: [UInt8]
        /// Says in logs which message this is (`hold.id`, `finding.ids`).
        let metadata: Logger.Metadata
        let done: @Sendable (Outcome) -> Void
    }

    /// The most messages waiting for delivery; older ones are dropped (and logged) past it.
    public static let queueLimit = 1000

    private let settings: Settings
    /// What the webhook is for, in log messages ("hold", "alert").
    private let purpose: String
    private let http: HTTPClient
    private let logger: Logger
    private let condition = NSCondition()
    // Guarded by `condition`.
    nonisolated(unsafe) private var queue: [Message] = []
    nonisolated(unsafe) private var stopped = false

    public init(settings: Settings, purpose: String, logger: Logger) {
        self.settings = settings
        self.purpose = purpose
        http = HTTPClient(caBundlePath: settings.caBundlePath, maxResponseBytes: 64 << 10)
        self.logger = logger
        let thread = Thread { [self] in
            Thread.current.name = "rein-webhook" // set on the thread itself: Linux applies it only there (15 bytes at most)
            run()
        }
        thread.start()
    }

    /// Queues `body` (JSON) for the webhook; never blocks. `done` runs on the
    /// sender's thread once the message was delivered or given up.
    public func send(_ body: [UInt8], metadata: Logger.Metadata, done: @escaping @Sendable (Outcome) -> Void = { _ in }) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return }
        if queue.count >= Self.queueLimit {
            let dropped = queue.removeFirst()
            logger.error("\(purpose) webhook queue full: a message was dropped", metadata: dropped.metadata)
        }
        queue.append(Message(body: body, metadata: metadata, done: done))
        condition.signal()
    }

    /// Stops after the message being delivered (its retries end early); queued ones are not sent.
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

    private func next() -> Message? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty, !stopped { condition.wait() }
        return stopped ? nil : queue.removeFirst()
    }

    private func run() {
        while let message = next() {
            message.done(deliver(message))
        }
    }

    private func deliver(_ message: Message) -> Outcome {
        var backoff = settings.firstBackoff
        var last = ""
        for attempt in 1...max(1, settings.attempts) {
            do {
                let response = try http.send(HTTPClientRequest(method: "POST", url: settings.url,
                                                               headers: [(name: "Content-Type", value: "application/json")],
                                                               body: message.body, timeout: settings.timeout))
                if (200..<300).contains(response.status) { return .delivered(status: response.status, attempts: attempt) }
                last = "HTTP \(response.status)"
            } catch {
                last = error.message
            }
            var metadata = message.metadata
            metadata["webhook.attempt"] = "\(attempt)"
            metadata["webhook.error"] = "\(last)"
            logger.warning("\(purpose) webhook delivery failed; retrying", metadata: metadata)
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
