/// Receives the events of one ``UpstreamExchange``.
///
/// Every method is called on the engine's curl thread, one at a time per engine, so an
/// implementation must return quickly and hop to its own event loop for real work.
/// Calling back into the exchange (``UpstreamExchange/write(_:)``,
/// ``UpstreamExchange/pauseResponse()``, ``UpstreamExchange/cancel()``, ...) from inside
/// these methods is allowed; it never deadlocks.
///
/// Order: at most one ``didReceiveHead(_:status:headers:)``, then any number of
/// ``didReceiveBody(_:bytes:)``, then exactly one ``didFinish(_:result:)``.
/// ``upstreamCanAcceptMoreBody(_:)`` may come at any point before ``didFinish(_:result:)``.
/// A failure may follow a head (the connection broke mid-body); the sidecar must then
/// abort the agent's response rather than end it cleanly.
public protocol UpstreamDelegate: Sendable {
    /// The final response head: interim 1xx blocks are skipped, header order and values
    /// are as received, and there is no status line. Body bytes arrive de-chunked, so a
    /// `Transfer-Encoding: chunked` header here describes the upstream wire, not the bytes.
    func didReceiveHead(_ exchange: UpstreamExchange, status: Int, headers: [(name: String, value: String)])

    /// One piece of the response body. While the response is paused no more arrive.
    func didReceiveBody(_ exchange: UpstreamExchange, bytes: [UInt8])

    /// The request-body queue drained below its low-water mark after a
    /// ``UpstreamExchange/write(_:)`` returned `false`: read from the agent again.
    func upstreamCanAcceptMoreBody(_ exchange: UpstreamExchange)

    /// The exchange is over; no other method is called for it afterwards.
    func didFinish(_ exchange: UpstreamExchange, result: Result<UpstreamTimings, UpstreamError>)
}

extension UpstreamDelegate {
    /// Requests without a streamed body never need this.
    public func upstreamCanAcceptMoreBody(_ exchange: UpstreamExchange) {}
}
