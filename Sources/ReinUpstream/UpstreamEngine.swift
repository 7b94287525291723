import CReinCurl
import Foundation
import Logging
import Synchronization

/// Forwards HTTP/1.1 exchanges upstream over system libcurl, streaming both bodies with
/// backpressure and bounded memory, and reusing connections.
///
/// Why one thread and one multi handle: libcurl handles are not thread-safe, and a
/// multi handle that lives as long as the engine keeps its connection cache warm, so
/// consecutive requests to the same AWS endpoint skip the TCP and TLS handshakes. The
/// thread sleeps in `curl_multi_poll`; other threads hand it work through a locked
/// command queue and `curl_multi_wakeup`, the one multi call libcurl allows from any
/// thread. Easy handles are created, driven and destroyed only on that thread.
///
/// The engine does not use NIO; the sidecar glues it to its event loops by hopping from
/// the delegate callbacks, which run on the curl thread.
public final class UpstreamEngine: Sendable {
    public let configuration: UpstreamConfiguration
    let logger: Logger
    private let shared: Mutex<Shared>
    /// Signalled when the curl thread has released everything and is about to exit.
    private let exited = DispatchSemaphore(value: 0)

    public init(configuration: UpstreamConfiguration = UpstreamConfiguration(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        shared = Mutex(Shared())
    }

    /// Validates the configuration, creates the multi handle and starts the curl thread.
    public func start() throws(UpstreamError) {
        try configuration.validate()
        guard CReinCurl_global_init() == CURLE_OK else {
            throw UpstreamError(kind: .internal, host: "", message: "libcurl failed to initialise")
        }
        guard let multi = curl_multi_init() else {
            throw UpstreamError(kind: .internal, host: "", message: "curl_multi_init failed")
        }
        CReinCurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxConnections)
        let handle = MultiHandle(raw: multi)
        let started = shared.withLock { s -> Bool in
            guard case .idle = s.phase else { return false }
            s.phase = .running(handle)
            return true
        }
        guard started else {
            curl_multi_cleanup(multi)
            throw UpstreamError(kind: .invalidConfiguration, host: "", message: "the engine was already started")
        }
        let thread = Thread { [self] in
            Thread.current.name = "rein-curl" // set on the thread itself: Linux applies it only there (15 bytes at most)
            let loop = CurlLoop(engine: self, multi: handle.raw)
            shared.withLock { $0.loopThread = pthread_self() }
            loop.run()
            exited.signal()
        }
        thread.start()
        logger.info("upstream engine started", metadata: [
            "curl.version": "\(String(cString: CReinCurl_version_text()))",
            "curl.tls": "\(String(cString: CReinCurl_ssl_version_text()))",
        ])
    }

    /// Fails every in-flight exchange with ``UpstreamError/Kind/shutdown``, closes the
    /// connections and waits for the curl thread to exit. Called from inside a delegate
    /// callback it only requests the stop, since waiting there would wait on itself.
    /// Idempotent.
    public func shutdown() {
        let (wasRunning, onLoopThread) = shared.withLock { s -> (Bool, Bool) in
            let onLoop = s.loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
            guard case .running(let multi) = s.phase else { return (false, onLoop) }
            s.phase = .stopping(multi)
            curl_multi_wakeup(multi.raw)
            return (true, onLoop)
        }
        if wasRunning && !onLoopThread {
            exited.wait()
            logger.info("upstream engine stopped")
        }
    }

    /// Starts one exchange. The delegate's callbacks run on the curl thread, except when
    /// the engine is not running: then `didFinish` with ``UpstreamError/Kind/shutdown``
    /// is called on the calling thread before this returns.
    public func execute(_ request: UpstreamRequest, delegate: any UpstreamDelegate) -> UpstreamExchange {
        let id = shared.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        let exchange = UpstreamExchange(id: id, engine: self, body: request.body, configuration: configuration)
        if !post(.add(exchange, request, delegate)) {
            exchange.state.withLock { $0.completed = true }
            delegate.didFinish(exchange, result: .failure(UpstreamError(kind: .shutdown, host: request.host, message: "the upstream engine is not running")))
        }
        return exchange
    }

    /// Queues a command for the curl thread; false when the engine is not running.
    @discardableResult
    func post(_ command: Command) -> Bool {
        shared.withLock { s -> Bool in
            guard case .running(let multi) = s.phase else { return false }
            // One wakeup per batch: a non-empty queue already has one pending.
            if s.commands.isEmpty { curl_multi_wakeup(multi.raw) }
            s.commands.append(command)
            return true
        }
    }

    /// The curl thread takes all queued commands at once; `stop` says to wind down.
    func takeCommands() -> (commands: [Command], stop: Bool) {
        shared.withLock { s in
            let commands = s.commands
            s.commands.removeAll(keepingCapacity: true)
            if case .stopping = s.phase { return (commands, true) }
            return (commands, false)
        }
    }

    /// Marks the engine stopped and returns the commands that raced with the stop. After
    /// this nobody calls `curl_multi_wakeup`, so the multi handle may be cleaned up.
    func close() -> [Command] {
        shared.withLock { s in
            s.phase = .stopped
            let commands = s.commands
            s.commands.removeAll()
            return commands
        }
    }

    private struct Shared {
        enum Phase { case idle, running(MultiHandle), stopping(MultiHandle), stopped }
        var phase = Phase.idle
        var commands: [Command] = []
        var nextID: UInt64 = 0
        var loopThread: pthread_t?
    }
}

/// Work handed to the curl thread.
enum Command: Sendable {
    case add(UpstreamExchange, UpstreamRequest, any UpstreamDelegate)
    /// New body bytes (or the end of the body) after the read callback paused.
    case resumeSend(UpstreamExchange)
    /// The caller resumed the response: deliver what was buffered, then unpause.
    case resumeResponse(UpstreamExchange)
    /// Finish with the exchange's `requestedFailure` (cancel or misuse).
    case fail(UpstreamExchange)
}

/// The multi handle's address, shared so other threads can call `curl_multi_wakeup`.
///
/// `@unchecked Sendable` is safe because the only call made off the curl thread is
/// `curl_multi_wakeup`, which libcurl documents as thread-safe, and it is made under
/// the engine's lock only while the phase is running or stopping, so it never races
/// with `curl_multi_cleanup`, which happens after the phase became stopped.
struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}
