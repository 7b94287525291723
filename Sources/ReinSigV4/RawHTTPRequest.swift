/// A complete HTTP/1.1 request parsed from its wire bytes: for
/// `rein sigv4 explain`, `rein catalog explain` and test vectors, where a
/// captured request is read from a file. (The sidecar's listener has its own
/// strict, streaming parser.)
public struct RawHTTPRequest: Sendable {
    public var request: SignableRequest
    public var version: String
    /// The body as sent, with any `Transfer-Encoding: chunked` framing removed.
    public var body: [UInt8]

    public struct ParseError: Error, Sendable, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { "cannot parse the HTTP request: \(message)" }
    }

    /// Parses a request. Lines may end in CRLF or LF; obs-fold continuation
    /// lines are joined to the previous header (the SigV4 suite uses them).
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> RawHTTPRequest {
        var lines: [ArraySlice<UInt8>] = []
        var i = 0, start = 0
        var bodyStart: Int?
        while i < bytes.count {
            if bytes[i] == 0x0A {
                var end = i
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                if end == start && !lines.isEmpty {
                    bodyStart = i + 1
                    break
                }
                lines.append(bytes[start..<end])
                start = i + 1
            }
            i += 1
        }
        if bodyStart == nil {
            // No blank line: everything left is the last header line.
            if start < bytes.count {
                var end = bytes.count
                if bytes[end - 1] == 0x0D { end -= 1 }
                lines.append(bytes[start..<end])
            }
        }
        guard let requestLine = lines.first, !requestLine.isEmpty else { throw ParseError(message: "empty input") }
        // METHOD SP target SP version. The target is everything between the
        // first and last space, so a captured raw space (as in the SigV4
        // suite's get-space case) stays part of the path.
        guard let firstSpace = requestLine.firstIndex(of: 0x20), let lastSpace = requestLine.lastIndex(of: 0x20),
              firstSpace < lastSpace
        else { throw ParseError(message: "the request line must be METHOD TARGET HTTP/1.1") }
        let method = String(decoding: requestLine[..<firstSpace], as: UTF8.self)
        var target = String(ASCII.trimmed(Substring(String(decoding: requestLine[(firstSpace + 1)..<lastSpace], as: UTF8.self))))
        let version = String(decoding: requestLine[(lastSpace + 1)...], as: UTF8.self)
        guard !method.isEmpty, !target.isEmpty else { throw ParseError(message: "the request line must be METHOD TARGET HTTP/1.1") }
        guard version.hasPrefix("HTTP/1.") else { throw ParseError(message: "unsupported HTTP version \(version)") }
        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            if let first = line.first, first == 0x20 || first == 0x09 {
                guard let last = headers.popLast() else { throw ParseError(message: "a continuation line precedes any header") }
                let more = String(ASCII.trimmed(Substring(String(decoding: line, as: UTF8.self))))
                headers.append(HTTPHeader(last.name, last.value + " " + more))
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw ParseError(message: "header line without a name and colon")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
            headers.append(HTTPHeader(name, String(ASCII.trimmed(Substring(value)))))
        }
        if let scheme = ["http://", "https://"].first(where: { target.hasPrefix($0) }) {
            // Absolute form (proxy requests): keep only the origin-form part.
            let rest = target.dropFirst(scheme.count)
            target = rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { String(rest[$0...]) } ?? "/"
            if target.hasPrefix("?") { target = "/" + target }
        }
        var body = bodyStart.map { Array(bytes[$0...]) } ?? []
        let request = SignableRequest(method: method, target: target, headers: headers)
        if request.values("transfer-encoding").contains(where: { ASCII.lowercased($0).contains("chunked") }) {
            body = try dechunk(body)
        }
        return RawHTTPRequest(request: request, version: version, body: body)
    }

    /// Removes HTTP/1.1 chunked transfer framing (chunk extensions and
    /// trailers are discarded).
    static func dechunk(_ data: [UInt8]) throws(ParseError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        func readLine() -> ArraySlice<UInt8>? {
            guard let lf = data[i...].firstIndex(of: 0x0A) else { return nil }
            var end = lf
            if end > i && data[end - 1] == 0x0D { end -= 1 }
            defer { i = lf + 1 }
            return data[i..<end]
        }
        while true {
            guard let sizeLine = readLine() else { throw ParseError(message: "truncated chunked body") }
            let hex = sizeLine.prefix { $0 != UInt8(ascii: ";") }
            guard let size = Int(String(decoding: hex, as: UTF8.self).trimmingSpaces, radix: 16), size >= 0 else {
                throw ParseError(message: "invalid chunk size in chunked body")
            }
            if size == 0 { return out }
            guard i + size <= data.count else { throw ParseError(message: "truncated chunk in chunked body") }
            out.append(contentsOf: data[i..<(i + size)])
            i += size
            guard readLine()?.isEmpty == true else { throw ParseError(message: "chunk data is not followed by CRLF") }
        }
    }

    /// Serialises back to wire form, with `Content-Length` framing unless the
    /// request declares chunked transfer, in which case the body is sent as
    /// one chunk.
    public func serialized() -> [UInt8] {
        var out = Array("\(request.method) \(request.target) \(version)\r\n".utf8)
        for h in request.headers { out.append(contentsOf: "\(h.name): \(h.value)\r\n".utf8) }
        out.append(contentsOf: [0x0D, 0x0A])
        if request.values("transfer-encoding").contains(where: { ASCII.lowercased($0).contains("chunked") }) {
            if !body.isEmpty {
                out.append(contentsOf: "\(String(body.count, radix: 16))\r\n".utf8)
                out.append(contentsOf: body)
                out.append(contentsOf: [0x0D, 0x0A])
            }
            out.append(contentsOf: "0\r\n\r\n".utf8)
        } else {
            out.append(contentsOf: body)
        }
        return out
    }
}

extension String {
    var trimmingSpaces: String { String(ASCII.trimmed(Substring(self))) }
}
