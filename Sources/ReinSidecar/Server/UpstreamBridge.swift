import NIOCore
import ReinUpstream

/// Carries upstream events from the curl thread to the agent's event loop.
///
/// Why loop-bound references: the handler and its flight belong to one
/// event loop; the bridge only ever touches them inside `eventLoop.execute`.
struct UpstreamBridge: UpstreamDelegate {
    let handler: NIOLoopBound<AgentHTTPHandler>
    let flight: NIOLoopBound<Flight>
    let eventLoop: any EventLoop

    func didReceiveHead(_ exchange: UpstreamExchange, status: Int, headers: [(name: String, value: String)]) {
        let headers = UnsafeTransfer(headers)
        eventLoop.execute { handler.value.upstreamHead(flight.value, status: status, headers: headers.value) }
    }

    func didReceiveBody(_ exchange: UpstreamExchange, bytes: [UInt8]) {
        eventLoop.execute { handler.value.upstreamBody(flight.value, bytes: bytes) }
    }

    func upstreamCanAcceptMoreBody(_ exchange: UpstreamExchange) {
        eventLoop.execute { handler.value.upstreamCanAcceptMore(flight.value) }
    }

    func didFinish(_ exchange: UpstreamExchange, result: Result<UpstreamTimings, UpstreamError>) {
        eventLoop.execute { handler.value.upstreamFinished(flight.value, result: result) }
    }
}

/// Moves a value of tuples (not formally Sendable) across one hop.
/// Safe because the array is a value copied here and never shared.
struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
