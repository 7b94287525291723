import CReinCurl

/// One easy handle and everything libcurl's callbacks need for it. Lives only on the
/// curl thread; the callbacks reach it through an unretained pointer, which is valid
/// because ``CurlLoop`` keeps the transfer alive until the handle is cleaned up.
final class UpstreamTransfer {
    let exchange: UpstreamExchange
    let delegate: any UpstreamDelegate
    let host: String
    private(set) var handle: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// libcurl's pause bits as we last set them (by callback return or curl_easy_pause).
    var curlRecvPaused = false
    var curlSendPaused = false
    /// Set when libcurl completed but buffered body bytes still await the delegate.
    var pendingSuccess: UpstreamTimings?

    private var head = ResponseHeadParser()
    private(set) var headDelivered = false
    private(set) var status = 0
    private var responseQueue: [[UInt8]] = []
    private var responseQueued = 0
    /// Request-body bytes handed to libcurl; CURLINFO_SIZE_UPLOAD would count chunk framing too.
    private var requestBytesRead = 0

    var id: UInt64 { exchange.id }

    init(exchange: UpstreamExchange, request: UpstreamRequest, delegate: any UpstreamDelegate, configuration: UpstreamConfiguration) throws(UpstreamError) {
        self.exchange = exchange
        self.delegate = delegate
        host = request.host
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try request.validate()
        guard let handle = curl_easy_init() else {
            throw UpstreamError(kind: .internal, host: host, message: "curl_easy_init failed")
        }
        self.handle = handle
        try configure(handle, request, configuration)
    }

    deinit {
        releaseHandle()
        errorBuffer.deallocate()
    }

    /// Cleans up the easy handle (after it left the multi handle) and the header list it used.
    func releaseHandle() {
        if let handle { curl_easy_cleanup(handle) }
        handle = nil
        curl_slist_free_all(headerList)
        headerList = nil
    }

    var errorDetail: String { String(cString: errorBuffer) }

    private func configure(_ handle: UnsafeMutableRawPointer, _ request: UpstreamRequest, _ configuration: UpstreamConfiguration) throws(UpstreamError) {
        func append(_ line: String) throws(UpstreamError) {
            // On allocation failure curl_slist_append returns nil and keeps the old list;
            // going on would send the request without its signed headers.
            guard let extended = curl_slist_append(headerList, line) else {
                throw UpstreamError(kind: .internal, host: host, message: "out of memory building the header list")
            }
            headerList = extended
        }
        for header in request.headers {
            // libcurl drops "Name:" (nothing after the colon but spaces) instead of sending
            // it; "Name;" is its spelling for a header with an empty value.
            try append(header.value.trimmingSpaces.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        let given = Set(request.headers.map { $0.name.lowercased() })
        // libcurl adds these by default; an empty value suppresses them. The sidecar
        // answers the agent's 100-continue itself, so upstream never waits for one.
        if !given.contains("expect") { try append("Expect:") }
        if !given.contains("accept") { try append("Accept:") }
        // The framing header goes last, after the signed ones. Given here, libcurl sees it
        // and adds none of its own (it would put Transfer-Encoding right after Host).
        switch request.body {
        case .length(let count) where !given.contains("content-length"):
            try append("Content-Length: \(count)")
        case .chunked where !given.contains("transfer-encoding"):
            try append("Transfer-Encoding: chunked")
        default:
            break
        }

        let userdata = Unmanaged.passUnretained(self).toOpaque()
        var code = CURLE_OK
        func set(_ c: CURLcode) { if code == CURLE_OK { code = c } }
        set(CReinCurl_setopt_string(handle, CURLOPT_URL, request.url))
        set(CurlSafety.apply(handle, caBundlePath: configuration.caBundlePath))
        // The path was signed as given; "/a/../b" must not become "/b".
        set(CReinCurl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1))
        set(CReinCurl_setopt_long(handle, CURLOPT_HTTP_VERSION, CReinCurl_http_version_1_1()))
        set(CReinCurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.curlMilliseconds))
        if let total = configuration.totalTimeout { set(CReinCurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, total.curlMilliseconds)) }
        set(CReinCurl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1))
        set(CReinCurl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, (configuration.idleTimeout.curlMilliseconds + 999) / 1000))
        set(CReinCurl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        set(CReinCurl_setopt_long(handle, CURLOPT_TCP_KEEPIDLE, 30))
        set(CReinCurl_setopt_long(handle, CURLOPT_TCP_KEEPINTVL, 15))
        // AWS front ends close idle connections after about 20 s; a streamed body
        // cannot be replayed on a connection that died idle, so retire them sooner.
        set(CReinCurl_setopt_long(handle, CURLOPT_MAXAGE_CONN, 15))
        set(CReinCurl_setopt_long(handle, CURLOPT_BUFFERSIZE, UpstreamConfiguration.receiveChunkBytes))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList))
        set(CReinCurl_setopt_header_function(handle, upstreamHeaderCallback))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_HEADERDATA, userdata))
        set(CReinCurl_setopt_write_function(handle, upstreamWriteCallback))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_WRITEDATA, userdata))

        switch request.body {
        case .none where request.method == "HEAD":
            set(CReinCurl_setopt_long(handle, CURLOPT_NOBODY, 1))
        case .none:
            if request.method != "GET" { set(CReinCurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)) }
        case .length, .chunked:
            // An upload of any method: libcurl frames it from INFILESIZE (-1 → chunked)
            // unless the caller's own Content-Length / Transfer-Encoding header is present.
            var size: curl_off_t = -1
            if case .length(let count) = request.body { size = curl_off_t(count) }
            set(CReinCurl_setopt_long(handle, CURLOPT_UPLOAD, 1))
            set(CReinCurl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, size))
            set(CReinCurl_setopt_read_function(handle, upstreamReadCallback))
            set(CReinCurl_setopt_pointer(handle, CURLOPT_READDATA, userdata))
            if request.method != "PUT" { set(CReinCurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)) }
        }
        guard code == CURLE_OK else {
            let message = String(cString: curl_easy_strerror(code))
            throw UpstreamError(kind: UpstreamError.kind(for: code), curlCode: Int(code.rawValue), host: host, message: "libcurl refused an option: \(message)")
        }
    }

    // MARK: Exchange state seen from the curl thread

    func requestedFailure() -> UpstreamError? {
        exchange.state.withLock { $0.requestedFailure }.map {
            UpstreamError(kind: $0.kind, curlCode: $0.curlCode, host: host, message: $0.message)
        }
    }

    var isResponsePaused: Bool { exchange.state.withLock { $0.responsePaused } }
    var hasBufferedResponse: Bool { !responseQueue.isEmpty }

    func markCompleted() {
        exchange.state.withLock { s in
            s.completed = true
            s.body.removeAll()
            s.bodyQueued = 0
        }
        responseQueue.removeAll()
        responseQueued = 0
    }

    func deliverNextBufferedChunk() {
        let chunk = responseQueue.removeFirst()
        responseQueued -= chunk.count
        delegate.didReceiveBody(exchange, bytes: chunk)
    }

    // MARK: Callback bodies

    func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        guard !headDelivered else { return }  // trailers of a chunked response
        guard let final = head.consume(line) else { return }
        headDelivered = true
        status = final.status
        delegate.didReceiveHead(exchange, status: final.status, headers: final.headers)
    }

    /// Either takes all of `data` or none of it: on CURL_WRITEFUNC_PAUSE libcurl keeps
    /// the bytes and passes exactly them again after unpausing, so taking a part would
    /// duplicate it.
    func receiveBody(_ data: UnsafeRawBufferPointer) -> Int {
        enum Decision { case abort, deliver, buffer, pause }
        let cap = exchange.responseCap
        let decision = exchange.state.withLock { s -> Decision in
            if s.requestedFailure != nil { return .abort }
            if !s.responsePaused && responseQueue.isEmpty { return .deliver }
            guard responseQueued + data.count <= cap else { return .pause }
            s.peakResponseQueued = max(s.peakResponseQueued, responseQueued + data.count)
            return .buffer
        }
        switch decision {
        case .abort:
            return 0
        case .deliver:
            delegate.didReceiveBody(exchange, bytes: Array(data))
        case .buffer:
            responseQueue.append(Array(data))
            responseQueued += data.count
        case .pause:
            curlRecvPaused = true
            return CReinCurl_write_pause_code()
        }
        return data.count
    }

    /// Copies queued request-body bytes into libcurl's buffer, pausing the upload
    /// when the queue is empty but the body has not ended.
    func fillRequestBody(_ destination: UnsafeMutableRawBufferPointer) -> Int {
        enum Decision { case abort, copied(Int, notify: Bool), end, pause }
        let lowWater = exchange.lowWater
        let decision = exchange.state.withLock { s -> Decision in
            if s.requestedFailure != nil { return .abort }
            let copied = s.drainBody(into: destination)
            if copied == 0 {
                if s.bodyFinished { return .end }
                s.sendWaiting = true
                return .pause
            }
            let notify = s.overHighWater && s.bodyQueued <= lowWater
            if notify { s.overHighWater = false }
            return .copied(copied, notify: notify)
        }
        switch decision {
        case .abort:
            return CReinCurl_read_abort_code()
        case .copied(let count, let notify):
            requestBytesRead += count
            if notify { delegate.upstreamCanAcceptMoreBody(exchange) }
            return count
        case .end:
            return 0
        case .pause:
            curlSendPaused = true
            return CReinCurl_read_pause_code()
        }
    }

    func timings() -> UpstreamTimings {
        func offT(_ info: CURLINFO) -> Int64 {
            var value: curl_off_t = 0
            if let handle { CReinCurl_getinfo_off_t(handle, info, &value) }
            return Int64(value)
        }
        var connects = 0
        if let handle { CReinCurl_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects) }
        return UpstreamTimings(
            connect: .microseconds(offT(CURLINFO_CONNECT_TIME_T)),
            firstByte: .microseconds(offT(CURLINFO_STARTTRANSFER_TIME_T)),
            total: .microseconds(offT(CURLINFO_TOTAL_TIME_T)),
            bytesSent: requestBytesRead,
            bytesReceived: Int(offT(CURLINFO_SIZE_DOWNLOAD_T)),
            reusedConnection: connects == 0
        )
    }
}

// libcurl's callbacks: C function pointers, so they cannot capture; `userdata` is the transfer.

private func transfer(_ userdata: UnsafeMutableRawPointer?) -> UpstreamTransfer? {
    userdata.map { Unmanaged<UpstreamTransfer>.fromOpaque($0).takeUnretainedValue() }
}

private func upstreamHeaderCallback(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let ptr, let transfer = transfer(userdata) else { return 0 }
    transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: ptr, count: size * count))
    return size * count
}

private func upstreamWriteCallback(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let ptr, let transfer = transfer(userdata) else { return 0 }
    return transfer.receiveBody(UnsafeRawBufferPointer(start: ptr, count: size * count))
}

private func upstreamReadCallback(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let ptr, let transfer = transfer(userdata) else { return CReinCurl_read_abort_code() }
    return transfer.fillRequestBody(UnsafeMutableRawBufferPointer(start: ptr, count: size * count))
}
