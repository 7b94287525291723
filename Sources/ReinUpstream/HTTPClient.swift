import CReinCurl
import Foundation

/// One outbound HTTP request for the blocking client.
///
/// Why a separate, blocking client: credential refreshes (STS, IMDS, container
/// endpoints) and collector calls are rare and run off the request path, so a
/// synchronous libcurl easy handle is the simplest correct tool. The request
/// path uses the streaming ``UpstreamEngine`` instead.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whole-transfer timeout in seconds.
    public var timeout: Double

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [], timeout: Double = 10) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A complete response: status, headers in wire order, and the body.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why an outbound call failed before an HTTP status was received.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalidRequest
        case transport
        case responseTooLarge
    }

    public let kind: Kind
    /// libcurl's result code, when the failure came from libcurl.
    public let curlCode: Int
    public let url: String
    public let message: String

    public init(kind: Kind, curlCode: Int = 0, url: String, message: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.url = url
        self.message = message
    }

    public var description: String { "request to \(url) failed: \(message)" }
}

/// A blocking HTTP client on system libcurl (OpenSSL TLS).
///
/// Each call uses its own easy handle, never reads proxy settings from the
/// environment (the sidecar must not be re-routed by the agent's variables),
/// allows only http and https, and does not follow redirects.
public struct HTTPClient: Sendable {
    /// A PEM bundle to trust instead of the system store (tests, private CAs).
    public var caBundlePath: String?
    /// Responses larger than this are refused rather than buffered.
    public var maxResponseBytes: Int

    public init(caBundlePath: String? = nil, maxResponseBytes: Int = 16 << 20) {
        self.caBundlePath = caBundlePath
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: HTTPClientRequest) throws(HTTPClientError) -> HTTPClientResponse {
        guard CReinCurl_global_init() == CURLE_OK else {
            throw HTTPClientError(kind: .transport, url: request.url, message: "libcurl failed to initialise")
        }
        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            throw HTTPClientError(kind: .invalidRequest, url: request.url, message: "only http and https URLs are allowed")
        }
        for header in request.headers where header.name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" })
            || header.value.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw HTTPClientError(kind: .invalidRequest, url: request.url, message: "header \(header.name.debugDescription) contains a line break or colon")
        }
        guard let handle = curl_easy_init() else {
            throw HTTPClientError(kind: .transport, url: request.url, message: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(handle) }

        let sink = ResponseSink(limit: maxResponseBytes)
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }

        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        // libcurl adds these by default; an empty value removes them.
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        if !request.headers.contains(where: { $0.name.lowercased() == "expect" }) {
            list = curl_slist_append(list, "Expect:")
        }
        if !request.headers.contains(where: { $0.name.lowercased() == "accept" }) {
            list = curl_slist_append(list, "Accept:")
        }

        var code = CURLE_OK
        func set(_ c: CURLcode) { if code == CURLE_OK { code = c } }
        set(CReinCurl_setopt_string(handle, CURLOPT_URL, request.url))
        set(CurlSafety.apply(handle, caBundlePath: caBundlePath))
        set(CReinCurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(request.timeout * 1000))))
        set(CReinCurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(min(request.timeout, 5) * 1000))))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, list))
        set(CReinCurl_setopt_write_function(handle, responseBodyCallback))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
        set(CReinCurl_setopt_header_function(handle, responseHeaderCallback))
        set(CReinCurl_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged.toOpaque()))

        let method = request.method.uppercased()
        if method == "HEAD" {
            set(CReinCurl_setopt_long(handle, CURLOPT_NOBODY, 1))
        } else if method != "GET" || !request.body.isEmpty {
            set(CReinCurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method))
        }
        guard code == CURLE_OK else {
            throw HTTPClientError(kind: .invalidRequest, curlCode: Int(code.rawValue), url: request.url, message: String(cString: curl_easy_strerror(code)))
        }

        let performed: CURLcode = request.body.withUnsafeBytes { raw -> CURLcode in
            if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) {
                var c = CReinCurl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
                if c == CURLE_OK {
                    // COPYPOSTFIELDS copies, so the buffer's lifetime does not matter.
                    if let base = raw.baseAddress {
                        c = CReinCurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                    } else {
                        c = CReinCurl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                    }
                }
                if c != CURLE_OK { return c }
            }
            return curl_easy_perform(handle)
        }
        if sink.overflowed {
            throw HTTPClientError(kind: .responseTooLarge, url: request.url, message: "response exceeds \(maxResponseBytes) bytes")
        }
        guard performed == CURLE_OK else {
            throw HTTPClientError(kind: .transport, curlCode: Int(performed.rawValue), url: request.url, message: String(cString: curl_easy_strerror(performed)))
        }
        var status = 0
        CReinCurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPClientResponse(status: status, headers: sink.finalHeaders, body: sink.body)
    }
}

/// Collects one response; used only from the thread running curl_easy_perform.
private final class ResponseSink {
    let limit: Int
    var body: [UInt8] = []
    var overflowed = false
    private var parser = ResponseHeadParser()
    /// The final response's head (interim 1xx blocks are skipped by the parser).
    private(set) var head: ResponseHeadParser.Head?

    init(limit: Int) { self.limit = limit }

    var finalHeaders: [(name: String, value: String)] { head?.headers ?? [] }

    func consumeHeaderLine(_ line: UnsafeRawBufferPointer) {
        if let complete = parser.consume(line) { head = complete }
    }
}

private func responseBodyCallback(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata, let ptr else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    if sink.body.count + length > sink.limit {
        sink.overflowed = true
        return 0
    }
    ptr.withMemoryRebound(to: UInt8.self, capacity: length) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
    return length
}

private func responseHeaderCallback(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata, let ptr else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    sink.consumeHeaderLine(UnsafeRawBufferPointer(start: ptr, count: length))
    return length
}
