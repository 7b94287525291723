import NIOCore
import ReinUpstream
import Synchronization

/// Carries upstream events from the curl thread to the agent's event loop.
///
/// Why coalescing: a small response arrives as head, body and end within one
/// libcurl pass. Hopping once per event would wake the event loop three
/// times; instead events queue here and one hop drains them all, followed by
/// one flush. The handler and flight are loop-bound: they are only touched
/// inside the drain, on their own event loop.
final class UpstreamBridge: UpstreamDelegate {
    enum Event {
        case head(Int, [(name: String, value: String)])
        case body([UInt8])
        case canAcceptMore
        case finished(Result<UpstreamTimings, UpstreamError>)
    }

    /// Response bytes allowed to wait for the event loop before libcurl is paused.
    static let queueLimit = 1 << 20

    private struct Pending {
        var events: [Event] = []
        var bytes = 0
        /// libcurl was paused here because the queue grew past the limit.
        var pausedForQueue = false
    }

    let handler: NIOLoopBound<AgentHTTPHandler>
    let flight: NIOLoopBound<Flight>
    let eventLoop: any EventLoop
    private let pending = Mutex<UnsafeTransfer<Pending>>(UnsafeTransfer(Pending()))

    init(handler: NIOLoopBound<AgentHTTPHandler>, flight: NIOLoopBound<Flight>, eventLoop: any EventLoop) {
        self.handler = handler
        self.flight = flight
        self.eventLoop = eventLoop
    }

    /// Queues an event; the first one of a batch schedules the drain. A body
    /// that outruns the event loop pauses libcurl here, on the curl thread,
    /// so the queue (and the sidecar's memory) stays bounded.
    ///
    /// The pause happens inside the lock that records it. Why: a drain
    /// already scheduled may run at any moment; if it took the queue after
    /// `pausedForQueue` was recorded but before the exchange was paused, its
    /// resume found nothing paused, and the pause that landed next was never
    /// undone: the download stalled for good (seen once in CI, a 1 GiB GET
    /// in proxy mode on a loaded machine). Lock order: this lock, then the
    /// exchange's; the exchange never calls its delegate holding its own.
    private func push(_ event: Event, exchange: UpstreamExchange) {
        let first = pending.withLock { box -> Bool in
            var p = box.value
            p.events.append(event)
            if case .body(let bytes) = event { p.bytes += bytes.count }
            if p.bytes > Self.queueLimit, !p.pausedForQueue {
                p.pausedForQueue = true
                exchange.pauseResponse()
            }
            box = UnsafeTransfer(p)
            return p.events.count == 1
        }
        if first { eventLoop.execute { self.drain() } }
    }

    private func drain() {
        let (events, wasPaused) = pending.withLock { box -> ([Event], Bool) in
            let p = box.value
            box = UnsafeTransfer(Pending())
            return (p.events, p.pausedForQueue)
        }
        let handler = self.handler.value
        let flight = self.flight.value
        for event in events {
            switch event {
            case .head(let status, let headers): handler.upstreamHead(flight, status: status, headers: headers)
            case .body(let bytes): handler.upstreamBody(flight, bytes: bytes)
            case .canAcceptMore: handler.upstreamCanAcceptMore(flight)
            case .finished(let result): handler.upstreamFinished(flight, result: result)
            }
        }
        handler.upstreamDrained(flight)
        // Paused for the queue: resume now that it is empty, unless the agent's
        // socket is full (then the handler resumes when it drains).
        if wasPaused, !flight.responsePaused { flight.exchange?.resumeResponse() }
    }

    func didReceiveHead(_ exchange: UpstreamExchange, status: Int, headers: [(name: String, value: String)]) {
        push(.head(status, headers), exchange: exchange)
    }

    func didReceiveBody(_ exchange: UpstreamExchange, bytes: [UInt8]) { push(.body(bytes), exchange: exchange) }

    func upstreamCanAcceptMoreBody(_ exchange: UpstreamExchange) { push(.canAcceptMore, exchange: exchange) }

    func didFinish(_ exchange: UpstreamExchange, result: Result<UpstreamTimings, UpstreamError>) {
        push(.finished(result), exchange: exchange)
    }
}

/// Moves a value that is not formally Sendable (tuples, closures' captures)
/// across one hop. Safe where used: the value is handed over under a lock
/// or to exactly one consumer, never shared.
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
