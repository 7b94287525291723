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
    private func push(_ event: Event, exchange: UpstreamExchange) {
        let (first, pause) = pending.withLock { box -> (Bool, Bool) in
            var p = box.value
            p.events.append(event)
            if case .body(let bytes) = event { p.bytes += bytes.count }
            var pause = false
            if p.bytes > Self.queueLimit, !p.pausedForQueue {
                p.pausedForQueue = true
                pause = true
            }
            box = UnsafeTransfer(p)
            return (p.events.count == 1, pause)
        }
        if pause { exchange.pauseResponse() }
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
