/// One request for ``UpstreamEngine/execute(_:delegate:)``.
///
/// The headers are sent exactly as given and in this order; the request was signed
/// over them. The only additions are what frames the body, when the caller did not give
/// it, appended after the given headers: `Content-Length` for ``Body/length(_:)`` and
/// `Transfer-Encoding: chunked` for ``Body/chunked``; and libcurl's `Host` (first) if it
/// is missing. No `Accept`, `Expect`, `User-Agent` or `Content-Type` is added.
public struct UpstreamRequest: Sendable {
    /// How the request body is framed; its bytes come later through ``UpstreamExchange/write(_:)``.
    public enum Body: Sendable, Equatable {
        /// No body: nothing is read from the exchange.
        case none
        /// Exactly this many bytes, sent with `Content-Length`.
        case length(Int)
        /// Unknown length, sent with `Transfer-Encoding: chunked` until ``UpstreamExchange/finish()``.
        case chunked
    }

    /// The method token as signed, for example `GET` or `PUT`; sent unchanged.
    public var method: String
    /// An absolute `http` or `https` URL, already percent-encoded as signed. Sent as is:
    /// dot segments are not normalised, since that would break the signature.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(method: String, url: String, headers: [(name: String, value: String)], body: Body = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The host part of ``url`` (no user info, no port), for errors and logs.
    var host: String {
        guard let schemeEnd = url.range(of: "://") else { return "" }
        let rest = url[schemeEnd.upperBound...]
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.startIndex...close])
        }
        return String(authority.prefix { $0 != ":" })
    }

    var isHead: Bool { method.uppercased() == "HEAD" }

    /// Refuses what libcurl would otherwise send differently from what was signed, or
    /// what could smuggle a second request onto a shared connection.
    func validate() throws(UpstreamError) {
        func refuse(_ message: String) -> UpstreamError {
            UpstreamError(kind: .invalidRequest, host: host, message: message)
        }
        let lowerURL = url.lowercased()
        guard lowerURL.hasPrefix("http://") || lowerURL.hasPrefix("https://") else {
            throw refuse("only http and https URLs are allowed")
        }
        guard !host.isEmpty else { throw refuse("the URL has no host") }
        guard !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw refuse("the URL contains whitespace or control characters")
        }
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            throw refuse("method \(method.debugDescription) is not an HTTP token")
        }
        var contentLength: [String] = []
        var transferEncoding: [String] = []
        for header in headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(Self.isTokenByte) else {
                throw refuse("header name \(header.name.debugDescription) is not an HTTP token")
            }
            guard !header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                throw refuse("header \(header.name) contains a line break")
            }
            switch header.name.lowercased() {
            case "content-length": contentLength.append(header.value.trimmingSpaces)
            case "transfer-encoding": transferEncoding.append(header.value.trimmingSpaces.lowercased())
            default: break
            }
        }
        switch body {
        case .none:
            guard transferEncoding.isEmpty, contentLength.allSatisfy({ $0 == "0" }), contentLength.count <= 1 else {
                throw refuse("framing headers describe a body but the request has none")
            }
        case .length(let count):
            guard count >= 0 else { throw refuse("body length \(count) is negative") }
            guard !isHead else { throw refuse("a HEAD request cannot carry a body") }
            guard transferEncoding.isEmpty, contentLength.count <= 1, contentLength.allSatisfy({ $0 == String(count) }) else {
                throw refuse("Content-Length/Transfer-Encoding headers disagree with the body length \(count)")
            }
        case .chunked:
            guard !isHead else { throw refuse("a HEAD request cannot carry a body") }
            guard contentLength.isEmpty, transferEncoding.allSatisfy({ $0 == "chunked" }), transferEncoding.count <= 1 else {
                throw refuse("a chunked body allows only `Transfer-Encoding: chunked` as framing header")
            }
        }
    }

    /// RFC 9110 tchar.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP optional whitespace).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
