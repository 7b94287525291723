/// Settings for ``UpstreamEngine``.
///
/// Keys (as the sidecar's YAML names them under `upstream:`):
/// - `caBundle` → ``caBundlePath``: a PEM bundle to trust instead of the system store
///   (tests, private CAs). TLS peer and host verification are always on; there is no
///   key to turn them off.
/// - `connectTimeout` → ``connectTimeout``: TCP plus TLS handshake budget.
/// - `totalTimeout` → ``totalTimeout``: whole-exchange budget; `nil` (the default) means
///   none, because a 1 GiB S3 transfer may legitimately take minutes.
/// - `idleTimeout` → ``idleTimeout``: an exchange moving less than one byte per second
///   for this long fails with ``UpstreamError/Kind/timeout``. A response the caller has
///   paused does not count as idle (libcurl skips its speed check while receiving is
///   paused); a request body the agent stops sending does.
/// - `maxBufferedBytesPerDirection` → ``maxBufferedBytesPerDirection``: the memory bound
///   per exchange and direction (see ``UpstreamExchange/write(_:)`` and
///   ``UpstreamExchange/pauseResponse()``).
/// - `maxConnections` → ``maxConnections``: idle connections the engine keeps for reuse.
public struct UpstreamConfiguration: Sendable {
    public var caBundlePath: String?
    public var connectTimeout: Duration
    public var totalTimeout: Duration?
    public var idleTimeout: Duration
    public var maxBufferedBytesPerDirection: Int
    /// Size of libcurl's connection cache (CURLMOPT_MAXCONNECTS). Exchanges beyond it
    /// still get a connection of their own; it is closed instead of cached when done.
    /// Why not a hard cap on open connections: exchanges queued behind a cap would wait
    /// on agents that paused their transfers, which is a stall the agent cannot see.
    public var maxConnections: Int

    /// libcurl's receive buffer, which bounds one write-callback delivery.
    static let receiveChunkBytes = 64 * 1024

    public init(
        caBundlePath: String? = nil,
        connectTimeout: Duration = .seconds(10),
        totalTimeout: Duration? = nil,
        idleTimeout: Duration = .seconds(60),
        maxBufferedBytesPerDirection: Int = 1 << 20,
        maxConnections: Int = 64
    ) {
        self.caBundlePath = caBundlePath
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.idleTimeout = idleTimeout
        self.maxBufferedBytesPerDirection = maxBufferedBytesPerDirection
        self.maxConnections = maxConnections
    }

    /// Above this many queued request-body bytes ``UpstreamExchange/write(_:)`` asks the
    /// caller to stop. Half the cap, so a caller that stops on `false` and writes chunks
    /// of at most half the cap never exceeds the cap.
    var requestHighWater: Int { maxBufferedBytesPerDirection / 2 }
    /// Once the queue drains to this, the delegate hears ``UpstreamDelegate/upstreamCanAcceptMoreBody(_:)``.
    var requestLowWater: Int { maxBufferedBytesPerDirection / 4 }

    /// Checks the values once, at start-up, so a bad file fails loudly instead of per request.
    func validate() throws(UpstreamError) {
        func fail(_ message: String) -> UpstreamError {
            UpstreamError(kind: .invalidConfiguration, host: "", message: message)
        }
        if maxBufferedBytesPerDirection < 2 * Self.receiveChunkBytes {
            throw fail("maxBufferedBytesPerDirection must be at least \(2 * Self.receiveChunkBytes) bytes (two libcurl receive buffers)")
        }
        if connectTimeout <= .zero { throw fail("connectTimeout must be positive") }
        if idleTimeout < .seconds(1) { throw fail("idleTimeout must be at least one second") }
        if let totalTimeout, totalTimeout <= .zero { throw fail("totalTimeout must be positive when set") }
        if maxConnections < 1 { throw fail("maxConnections must be at least 1") }
        if let caBundlePath, caBundlePath.isEmpty { throw fail("caBundlePath must not be empty when set") }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up, at least 1: libcurl treats 0 as "no timeout".
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, millis))
    }
}
