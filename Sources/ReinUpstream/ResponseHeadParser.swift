/// Assembles the final response head from the lines libcurl's header callback passes:
/// one status line, header lines, and a blank line, per response in the exchange.
///
/// Why parse it here rather than ask libcurl afterwards: the sidecar needs the head in
/// wire order with the values as sent (AWS clients read `x-amz-*` headers verbatim), and
/// it needs it before the body starts. Interim 1xx blocks (100 Continue, 103 Early
/// Hints) are dropped; 101 is final since it ends HTTP on the connection.
struct ResponseHeadParser {
    struct Head: Equatable {
        var status: Int
        var headers: [(name: String, value: String)]

        static func == (lhs: Head, rhs: Head) -> Bool {
            lhs.status == rhs.status && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
        }
    }

    private var status: Int?
    private var headers: [(name: String, value: String)] = []

    /// Feeds one line (with or without its CRLF); returns the head when a final block ends.
    mutating func consume(_ raw: UnsafeRawBufferPointer) -> Head? {
        var bytes = raw[...]
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() }
        if bytes.isEmpty {
            defer { status = nil; headers = [] }
            guard let status else { return nil }
            if (100..<200).contains(status) && status != 101 { return nil }
            return Head(status: status, headers: headers)
        }
        if status == nil {
            status = Self.statusCode(bytes)
            return nil
        }
        if let first = bytes.first, first == 0x20 || first == 0x09 {
            // Obsolete line folding continues the previous value (RFC 9112 §5.2).
            if !headers.isEmpty {
                let continuation = String(decoding: bytes, as: UTF8.self).trimmingSpaces
                headers[headers.count - 1].value += headers[headers.count - 1].value.isEmpty ? continuation : " " + continuation
            }
            return nil
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = String(decoding: bytes[..<colon], as: UTF8.self)
        let value = String(decoding: bytes[(colon + 1)...], as: UTF8.self).trimmingSpaces
        headers.append((name: name, value: value))
        return nil
    }

    /// The code from "HTTP/1.1 200 OK"; 0 when the line is not a status line, which then
    /// never counts as interim, so a malformed head still reaches the caller.
    private static func statusCode(_ line: Slice<UnsafeRawBufferPointer>) -> Int {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].starts(with: "HTTP/".utf8), parts[1].count == 3 else { return 0 }
        return Int(String(decoding: parts[1], as: UTF8.self)) ?? 0
    }
}
