import Synchronization

/// The caller's handle on one in-flight request, returned by ``UpstreamEngine/execute(_:delegate:)``.
///
/// Every method may be called from any thread, including from inside the delegate's
/// callbacks. None of them touches libcurl: they change state under a lock and, when the
/// curl thread must act, queue a command for it.
public final class UpstreamExchange: Sendable {
    let id: UInt64
    let engine: UpstreamEngine
    /// The declared `Content-Length` of a ``UpstreamRequest/Body/length(_:)`` body.
    let declaredLength: Int?
    let acceptsBody: Bool
    let highWater: Int
    let lowWater: Int
    let responseCap: Int
    let state: Mutex<ExchangeState>

    init(id: UInt64, engine: UpstreamEngine, body: UpstreamRequest.Body, configuration: UpstreamConfiguration) {
        self.id = id
        self.engine = engine
        switch body {
        case .none: (declaredLength, acceptsBody) = (nil, false)
        case .length(let count): (declaredLength, acceptsBody) = (count, true)
        case .chunked: (declaredLength, acceptsBody) = (nil, true)
        }
        highWater = configuration.requestHighWater
        lowWater = configuration.requestLowWater
        responseCap = configuration.maxBufferedBytesPerDirection
        state = Mutex(ExchangeState())
    }

    /// Queues request-body bytes; they are sent as libcurl asks for them.
    ///
    /// - Returns: `true` while the queue is below its high-water mark (half of
    ///   ``UpstreamConfiguration/maxBufferedBytesPerDirection``). On `false`, stop reading
    ///   from the agent until ``UpstreamDelegate/upstreamCanAcceptMoreBody(_:)``. Bytes
    ///   written anyway are still queued; memory then grows past the bound.
    ///
    /// Writing more than a declared length, after ``finish()``, or to a request without a
    /// body fails the exchange with ``UpstreamError/Kind/invalidRequest``, because
    /// sending anything else than the signed body is never right.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        enum Outcome { case queued(kick: Bool, below: Bool), ignored, misuse(String) }
        let outcome = state.withLock { s -> Outcome in
            if s.requestedFailure != nil || s.completed { return .ignored }
            guard acceptsBody else { return .misuse("the request was declared without a body") }
            guard !s.bodyFinished else { return .misuse("body bytes were written after finish()") }
            if let declaredLength, s.bodyWritten + bytes.count > declaredLength {
                return .misuse("the body exceeds its declared length of \(declaredLength) bytes")
            }
            guard !bytes.isEmpty else { return .queued(kick: false, below: s.bodyQueued < highWater) }
            s.body.append(bytes)
            s.bodyQueued += bytes.count
            s.bodyWritten += bytes.count
            s.peakRequestQueued = max(s.peakRequestQueued, s.bodyQueued)
            let kick = s.sendWaiting
            s.sendWaiting = false
            let below = s.bodyQueued < highWater
            if !below { s.overHighWater = true }
            return .queued(kick: kick, below: below)
        }
        switch outcome {
        case .queued(let kick, let below):
            if kick { engine.post(.resumeSend(self)) }
            return below
        case .ignored:
            return true
        case .misuse(let message):
            fail(.invalidRequest, message)
            return true
        }
    }

    /// Marks the end of the request body. For a declared length, ending early fails the
    /// exchange rather than sending a truncated body.
    public func finish() {
        enum Outcome { case done(kick: Bool), short(Int, Int) }
        let outcome = state.withLock { s -> Outcome in
            if s.bodyFinished || s.requestedFailure != nil || s.completed { return .done(kick: false) }
            s.bodyFinished = true
            if let declaredLength, s.bodyWritten < declaredLength { return .short(s.bodyWritten, declaredLength) }
            let kick = s.sendWaiting
            s.sendWaiting = false
            return .done(kick: kick)
        }
        switch outcome {
        case .done(let kick):
            if kick { engine.post(.resumeSend(self)) }
        case .short(let written, let declared):
            fail(.invalidRequest, "the body ended after \(written) of its declared \(declared) bytes")
        }
    }

    /// Stops response-body delivery. At most one more chunk may already be on its way to
    /// the delegate when this is called from another thread; none when it is called from
    /// inside ``UpstreamDelegate/didReceiveBody(_:bytes:)``. The engine then buffers up to
    /// ``UpstreamConfiguration/maxBufferedBytesPerDirection`` before pausing the socket.
    public func pauseResponse() {
        state.withLock { $0.responsePaused = true }
    }

    /// Resumes response-body delivery, starting with what the engine buffered meanwhile.
    public func resumeResponse() {
        let wasPaused = state.withLock { s -> Bool in
            defer { s.responsePaused = false }
            return s.responsePaused
        }
        if wasPaused { engine.post(.resumeResponse(self)) }
    }

    /// Abandons the exchange (the agent went away): the connection is dropped, nothing
    /// more is sent or delivered, and the delegate gets `didFinish` with
    /// ``UpstreamError/Kind/cancelled`` unless the exchange had already finished.
    public func cancel() {
        fail(.cancelled, "the exchange was cancelled")
    }

    private func fail(_ kind: UpstreamError.Kind, _ message: String) {
        let error = UpstreamError(kind: kind, host: "", message: message)
        let first = state.withLock { s -> Bool in
            guard s.requestedFailure == nil, !s.completed else { return false }
            s.requestedFailure = error
            return true
        }
        if first { engine.post(.fail(self)) }
    }

    /// The most request-body bytes that were queued at once (tests check the bound).
    var peakBufferedRequestBytes: Int { state.withLock { $0.peakRequestQueued } }
    /// The most response-body bytes the engine buffered at once while the caller paused.
    var peakBufferedResponseBytes: Int { state.withLock { $0.peakResponseQueued } }
}

/// State shared between the caller's threads and the curl thread, always under the lock.
struct ExchangeState {
    /// Request-body chunks not yet handed to libcurl; `bodyOffset` indexes into the first.
    var body: [[UInt8]] = []
    var bodyOffset = 0
    var bodyQueued = 0
    var bodyWritten = 0
    var bodyFinished = false
    /// The read callback returned CURL_READFUNC_PAUSE; the next write or finish must
    /// ask the curl thread to unpause sending.
    var sendWaiting = false
    /// A write returned `false`; the delegate is owed `upstreamCanAcceptMoreBody`.
    var overHighWater = false
    var responsePaused = false
    /// Set by cancel() or misuse; the curl thread finishes the exchange with it.
    var requestedFailure: UpstreamError?
    /// didFinish was (or is being) delivered.
    var completed = false
    var peakRequestQueued = 0
    var peakResponseQueued = 0

    /// Moves up to `capacity` queued body bytes into `destination`.
    mutating func drainBody(into destination: UnsafeMutableRawBufferPointer) -> Int {
        var copied = 0
        while copied < destination.count, let first = body.first {
            let available = first.count - bodyOffset
            let take = min(available, destination.count - copied)
            first.withUnsafeBytes { source in
                let slice = UnsafeRawBufferPointer(rebasing: source[bodyOffset..<(bodyOffset + take)])
                UnsafeMutableRawBufferPointer(rebasing: destination[copied..<(copied + take)]).copyMemory(from: slice)
            }
            copied += take
            if take == available {
                body.removeFirst()
                bodyOffset = 0
            } else {
                bodyOffset += take
            }
        }
        bodyQueued -= copied
        return copied
    }
}
