/// What a successful exchange cost, for the audit record and latency metrics.
public struct UpstreamTimings: Sendable, Equatable {
    /// From the start of the exchange until TCP (and TLS) were up; near zero on a reused connection.
    public var connect: Duration
    /// Until the first response byte arrived (CURLINFO_STARTTRANSFER_TIME_T).
    public var firstByte: Duration
    /// The whole exchange as libcurl measured it.
    public var total: Duration
    /// Request-body bytes sent (headers and chunk framing excluded).
    public var bytesSent: Int
    /// Response-body bytes received, after de-chunking (headers excluded).
    public var bytesReceived: Int
    /// True when no new connection was opened (CURLINFO_NUM_CONNECTS was 0).
    public var reusedConnection: Bool

    public init(connect: Duration, firstByte: Duration, total: Duration, bytesSent: Int, bytesReceived: Int, reusedConnection: Bool) {
        self.connect = connect
        self.firstByte = firstByte
        self.total = total
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.reusedConnection = reusedConnection
    }
}
