import Dispatch
import Foundation
import Logging
import Synchronization

/// The broker's credential cache: what the request path asks for signing keys.
///
/// ``current()`` never touches the network: it returns the cached
/// credentials while they are valid (with a safety margin) and nil
/// otherwise, and the sidecar then answers 503 rather than forward a call it
/// cannot sign. A background thread refreshes ahead of expiry — `refreshBefore`
/// ahead (default 5 min), or at two thirds of the lifetime for short sessions
/// — and retries failures with exponential backoff and jitter. A failed
/// refresh leaves the cached credentials in use until they expire, never after.
/// ``rescope(with:)`` swaps in a provider for a changed task scope (a new
/// policy version's session policy) and fetches with it at once.
public final class BrokerCredentialSource: Sendable {
    /// One refresh attempt's outcome, for metrics and health reporting.
    public struct RefreshEvent: Sendable {
        public let provider: String
        public let success: Bool
        public let expiration: Date?
        public let error: BrokerError?
    }

    /// The provider fetches go to (replaced by ``rescope(with:)``).
    public var provider: any BrokerCredentialProvider { providerBox.withLock { $0 } }
    private let providerBox: Mutex<any BrokerCredentialProvider>
    public let refreshBefore: TimeInterval
    /// Credentials are treated as expired this long before AWS would, so a
    /// call signed now still arrives in time.
    public let expiryMargin: TimeInterval
    public let initialBackoff: TimeInterval
    public let maxBackoff: TimeInterval

    private let now: @Sendable () -> Date
    private let logger: Logger
    private let onRefresh: (@Sendable (RefreshEvent) -> Void)?
    private let jitter: @Sendable () -> Double
    private let state = Mutex(State())
    /// Wakes the refresh thread early (stop, or a refresh requested).
    private let wake = DispatchSemaphore(value: 0)

    private struct State {
        var cached: BrokerCredentials?
        /// When the next fetch is due; nil: none scheduled (long-term keys, or given up).
        var nextRefresh: Date?
        var consecutiveFailures = 0
        var successes = 0
        var failures = 0
        var lastError: BrokerError?
        var running = false
        var stopped = false
        /// Bumped by each rescope: a fetch begun before it is not the new scope's.
        var scope = 0

        /// When to fetch next: at once if never tried, else as scheduled.
        var dueDate: Date? {
            successes == 0 && failures == 0 ? .distantPast : nextRefresh
        }
    }

    /// - Parameters:
    ///   - now: the clock; tests inject one to drive expiry.
    ///   - jitter: a factor in 0.5...1 applied to each backoff (injected for tests).
    public init(provider: any BrokerCredentialProvider, refreshBefore: TimeInterval = 300, expiryMargin: TimeInterval = 30,
                initialBackoff: TimeInterval = 1, maxBackoff: TimeInterval = 60,
                logger: Logger = Logger(label: "rein.broker"), now: @escaping @Sendable () -> Date = { Date() },
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) },
                onRefresh: (@Sendable (RefreshEvent) -> Void)? = nil) {
        providerBox = Mutex(provider)
        self.refreshBefore = refreshBefore
        self.expiryMargin = expiryMargin
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        var logger = logger
        logger[metadataKey: "broker.provider"] = .string(provider.name)
        self.logger = logger
        self.now = now
        self.jitter = jitter
        self.onRefresh = onRefresh
    }

    /// The cached credentials if still valid; never blocks on the network.
    public func current() -> BrokerCredentials? {
        let at = now()
        return state.withLock { s in
            guard let cached = s.cached, cached.isValid(at: at, margin: expiryMargin) else { return nil }
            return cached
        }
    }

    /// Whether forwarded calls can be signed right now.
    public var isReady: Bool { current() != nil }

    /// The last refresh error, cleared by the next success (for the health endpoint).
    public var lastError: BrokerError? { state.withLock { $0.lastError } }

    /// How many refreshes succeeded (or failed) so far: the Prometheus counter.
    public func refreshCount(success: Bool) -> Int {
        state.withLock { success ? $0.successes : $0.failures }
    }

    /// When the next background fetch is due, if one is.
    public var nextRefresh: Date? { state.withLock { $0.nextRefresh } }

    /// Replaces the provider with one for a new task scope and fetches with
    /// it on the background thread at once. The cached credentials stay in
    /// use until the new ones arrive (or expire: a failed fetch is retried
    /// as any refresh is). Why not drop them: Rein enforces the new policy on
    /// every call already; the session policy is AWS's second check, and an
    /// agent should not see 503s while STS answers.
    public func rescope(with provider: any BrokerCredentialProvider) {
        let wake = state.withLock { s -> Bool in
            providerBox.withLock { $0 = provider }
            s.scope += 1
            s.consecutiveFailures = 0
            s.nextRefresh = .distantPast
            return s.running && !s.stopped
        }
        if wake { self.wake.signal() }
    }

    /// Fetches now and caches the result: for start-up, where the sidecar
    /// should fail with the reason rather than start unable to sign.
    @discardableResult
    public func refreshNow() throws(BrokerError) -> BrokerCredentials {
        let started = now()
        let (provider, scope) = state.withLock { s in (providerBox.withLock { $0 }, s.scope) }
        let result: Result<BrokerCredentials, BrokerError>
        do throws(BrokerError) {
            let fetched = try provider.fetch(now: started)
            guard fetched.isValid(at: started, margin: expiryMargin) else {
                throw BrokerError(provider: provider.name, kind: .expired,
                                  message: "the provider returned credentials that expire at \(fetched.expiration.map(ISO8601.format) ?? "?"), within \(Int(expiryMargin)) s of now: check the clock and the provider")
            }
            result = .success(fetched)
        } catch {
            result = .failure(error)
        }
        record(result, at: started, scope: scope)
        return try result.get()
    }

    /// Fetches if a refresh is due at `now()`; the background thread's step,
    /// also called directly by tests with an injected clock.
    public func refreshIfDue() {
        let at = now()
        let due = state.withLock { $0.dueDate.map { at >= $0 } ?? false }
        if due { _ = try? refreshNow() }
    }

    /// Starts the background refresh thread (idempotent). Call ``stop()`` at
    /// shutdown: the thread keeps the source alive while it waits.
    public func start() {
        let shouldStart = state.withLock { s -> Bool in
            guard !s.running, !s.stopped else { return false }
            s.running = true
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [weak self] in
            Thread.current.name = "rein-broker" // set on the thread itself: Linux applies it only there (15 bytes at most)
            while let source = self, source.loopOnce() {}
        }
        thread.start()
    }

    /// Stops the background thread; cached credentials stay readable.
    public func stop() {
        let wasRunning = state.withLock { s -> Bool in
            s.stopped = true
            return s.running
        }
        if wasRunning { wake.signal() }
    }

    /// One wait-then-refresh step; false once stopped.
    private func loopOnce() -> Bool {
        let (stopped, next) = state.withLock { ($0.stopped, $0.dueDate) }
        if stopped { return false }
        // With nothing scheduled, wake periodically anyway so a stop is seen promptly.
        let delay = next.map { max(0, $0.timeIntervalSince(now())) } ?? 3600
        _ = wake.wait(timeout: .now() + min(delay, 3600))
        if state.withLock({ $0.stopped }) { return false }
        refreshIfDue()
        return true
    }

    /// Caches a fetch's outcome; one made for an older scope than the
    /// current one schedules the new scope's fetch at once.
    private func record(_ result: Result<BrokerCredentials, BrokerError>, at time: Date, scope: Int) {
        var log = logger
        switch result {
        case .success(let fetched):
            state.withLock { s in
                s.cached = fetched
                s.consecutiveFailures = 0
                s.successes += 1
                s.lastError = nil
                s.nextRefresh = scope == s.scope ? refreshTime(for: fetched, fetchedAt: time) : .distantPast
            }
            log[metadataKey: "broker.expiration"] = .string(fetched.expiration.map(ISO8601.format) ?? "never")
            log.info("broker credentials refreshed", metadata: ["broker.access_key_id": .string(fetched.accessKeyId)])
            onRefresh?(RefreshEvent(provider: provider.name, success: true, expiration: fetched.expiration, error: nil))
        case .failure(let error):
            let (next, cachedExpiry) = state.withLock { s -> (Date?, Date?) in
                s.consecutiveFailures += 1
                s.failures += 1
                s.lastError = error
                if scope != s.scope {
                    s.consecutiveFailures -= 1
                    s.nextRefresh = .distantPast
                } else if error.isRetryable {
                    let backoff = min(maxBackoff, initialBackoff * pow(2, Double(min(s.consecutiveFailures - 1, 30)))) * jitter()
                    s.nextRefresh = time.addingTimeInterval(backoff)
                } else {
                    s.nextRefresh = nil
                }
                return (s.nextRefresh, s.cached?.expiration)
            }
            log[metadataKey: "broker.expiration"] = .string(cachedExpiry.map(ISO8601.format) ?? "none")
            log[metadataKey: "broker.retry_at"] = .string(next.map(ISO8601.format) ?? "never")
            log.error("broker credential refresh failed: \(error.message)")
            onRefresh?(RefreshEvent(provider: provider.name, success: false, expiration: cachedExpiry, error: error))
        }
    }

    /// `refreshBefore` ahead of expiry, but no later than two thirds into
    /// the lifetime; never for credentials that do not expire.
    private func refreshTime(for credentials: BrokerCredentials, fetchedAt time: Date) -> Date? {
        guard let expiration = credentials.expiration else { return nil }
        let lifetime = max(0, expiration.timeIntervalSince(time))
        return expiration.addingTimeInterval(-min(refreshBefore, lifetime / 3))
    }
}
