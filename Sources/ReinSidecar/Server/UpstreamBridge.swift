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

    let handler: NIOLoopBound<AgentHTTPHandler>
    let flight: NIOLoopBound<Flight>
    let eventLoop: any EventLoop
    private let pending = Mutex<UnsafeTransfer<[Event]>>(UnsafeTransfer([]))

    init(handler: NIOLoopBound<AgentHTTPHandler>, flight: NIOLoopBound<Flight>, eventLoop: any EventLoop) {
        self.handler = handler
        self.flight = flight
        self.eventLoop = eventLoop
    }

    private func push(_ event: Event) {
        let first = pending.withLock { queue -> Bool in
            var events = queue.value
            events.append(event)
            queue = UnsafeTransfer(events)
            return events.count == 1
        }
        if first { eventLoop.execute { self.drain() } }
    }

    private func drain() {
        let events = pending.withLock { queue -> [Event] in
            let events = queue.value
            queue = UnsafeTransfer([])
            return events
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
    }

    func didReceiveHead(_ exchange: UpstreamExchange, status: Int, headers: [(name: String, value: String)]) {
        push(.head(status, headers))
    }

    func didReceiveBody(_ exchange: UpstreamExchange, bytes: [UInt8]) { push(.body(bytes)) }

    func upstreamCanAcceptMoreBody(_ exchange: UpstreamExchange) { push(.canAcceptMore) }

    func didFinish(_ exchange: UpstreamExchange, result: Result<UpstreamTimings, UpstreamError>) {
        push(.finished(result))
    }
}

/// Moves a value that is not formally Sendable (tuples, closures' captures)
/// across one hop. Safe where used: the value is handed over under a lock
/// or to exactly one consumer, never shared.
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
