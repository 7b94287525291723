import Foundation
import ReinAudit
import Logging
import Synchronization

/// Keeps a sidecar's task policy in step with the collector.
///
/// Why long-poll by default: a central change (a tightened allowlist, a
/// rollback) should reach every sidecar in seconds, without a fleet polling
/// every second. Each fetched document is handed to `apply`, which validates
/// and swaps it in atomically; only a document that applied is written as
/// the last-known-good file (atomically, mode 0600), so a sidecar that
/// starts while the collector is down starts from the last policy it
/// actually enforced.
public final class PolicyFetcher: Sendable {
    public enum Mode: String, Sendable { case longPoll = "long-poll", interval }

    /// What `apply` reports: applied, or refused with a reason.
    public typealias Apply = @Sendable (_ text: String, _ version: String) -> Result<Void, PolicyApplyRefusal>

    private struct State {
        var etag: String?
        var stopping = false
        var appliedVersion: String?
        var lastError: String?
    }

    private let client: CollectorClient
    private let agentId: String
    private let mode: Mode
    private let interval: Double
    private let lastKnownGoodPath: String
    private let apply: Apply
    private let logger: Logger
    private let state: Mutex<State>

    public init(client: CollectorClient, agentId: String, mode: Mode, interval: Double, lastKnownGoodPath: String,
                initialVersion: String?, apply: @escaping Apply, logger: Logger) {
        self.client = client
        self.agentId = agentId
        self.mode = mode
        self.interval = interval
        self.lastKnownGoodPath = lastKnownGoodPath
        self.apply = apply
        self.logger = logger
        state = Mutex(State(etag: initialVersion.map { "\"\($0)\"" }, appliedVersion: initialVersion))
    }

    /// The version of the last document that applied.
    public var appliedVersion: String? { state.withLock { $0.appliedVersion } }

    public func start() {
        let thread = Thread { [self] in
            Thread.current.name = "rein-policy" // set on the thread itself: Linux applies it only there (15 bytes at most)
            run()
        }
        thread.start()
    }

    public func stop() { state.withLock { $0.stopping = true } }

    /// What one fetch found.
    public enum Outcome: Sendable, Equatable {
        case applied, unchanged, refused
        /// The collector has no policy for the agent (yet).
        case none
    }

    /// One fetch (long-polling up to `wait` seconds).
    @discardableResult
    public func fetchOnce(wait: Int) throws(CollectorClientError) -> Outcome {
        let etag = state.withLock { $0.etag }
        switch try client.fetchPolicy(agentId: agentId, etag: etag, wait: wait) {
        case .notModified:
            return .unchanged
        case .none:
            return .none
        case .document(let text, let version, let newTag):
            // Whatever happens, do not fetch this same version again in a loop.
            let applied = state.withLock { s in
                s.etag = newTag
                return s.appliedVersion
            }
            // The version in force again (a cache or proxy ignoring If-None-Match):
            // nothing to apply, and no last-known-good copy to rewrite.
            if version == applied { return .unchanged }
            switch apply(text, version) {
            case .success:
                Self.saveLastKnownGood(text, version: version, path: lastKnownGoodPath, logger: logger)
                state.withLock { $0.appliedVersion = version }
                logger.info("applied the collector's policy", metadata: ["agent_id": "\(agentId)", "version": "\(version)"])
                return .applied
            case .failure(let refusal):
                logger.error("cannot apply the collector's policy", metadata: [
                    "agent_id": "\(agentId)", "version": "\(version)", "reason": "\(refusal.reason)",
                ])
                return .refused
            }
        }
    }

    /// The least time between two long-polls that answered at once, and the
    /// most after versions this sidecar cannot apply: a collector, or a cache
    /// or proxy before it, that ignores `wait` must not be asked in a loop.
    static let longPollMinimumGap: Double = 1
    static let refusedMaximumGap: Double = 30

    private func run() {
        var failures = 0
        var missing = 0
        var refusals = 0
        while !state.withLock({ $0.stopping }) {
            do {
                let started = Date()
                let outcome = try fetchOnce(wait: mode == .longPoll ? 25 : 0)
                failures = 0
                refusals = outcome == .refused ? refusals + 1 : 0
                if mode == .longPoll, outcome != .none {
                    let gap = refusals > 0 ? AuditShipper.backoffDelay(attempt: refusals, base: 1, max: Self.refusedMaximumGap)
                        : Self.longPollMinimumGap
                    let elapsed = Date().timeIntervalSince(started)
                    if elapsed < gap { Thread.sleep(forTimeInterval: gap - elapsed) }
                }
                if outcome == .none {
                    // Nothing pushed for this agent yet. A collector that long-polls
                    // this waited already; one that answered at once must not be
                    // asked again in a loop.
                    missing += 1
                    if missing == 1 {
                        logger.notice("the collector has no policy for this agent yet; enforcing the current one",
                                      metadata: ["agent_id": "\(agentId)"])
                    }
                    Thread.sleep(forTimeInterval: mode == .interval ? interval : min(5, Double(missing)))
                    continue
                }
                missing = 0
                if mode == .interval { Thread.sleep(forTimeInterval: interval) }
            } catch {
                failures += 1
                state.withLock { $0.lastError = "\(error)" }
                let delay = AuditShipper.backoffDelay(attempt: failures, base: 1, max: 30)
                logger.warning("cannot fetch the policy from the collector; enforcing the current one", metadata: [
                    "error": "\(error)", "retry_in_s": "\(String(format: "%.1f", delay))",
                ])
                Thread.sleep(forTimeInterval: delay)
            }
        }
    }

    /// Keeps the version that applied, so that the sidecar can start with it
    /// while the collector is down (also the one fetched at start-up).
    public static func saveLastKnownGood(_ text: String, version: String, path: String, logger: Logger) {
        do {
            try writeAtomically(text, to: path)
            try writeAtomically(version + "\n", to: path + ".version")
        } catch {
            logger.error("policy applied but the last-known-good copy could not be written", metadata: [
                "path": "\(path)", "error": "\(error)",
            ])
        }
    }

    /// Writes `text` to a temporary file in the same directory and renames
    /// it over `path`, so a reader never sees half a policy.
    static func writeAtomically(_ text: String, to path: String) throws {
        do { try SecretFile.replace(path, with: Array(text.utf8)) } catch {
            throw PolicyApplyRefusal(reason: "\(error)")
        }
    }
}
