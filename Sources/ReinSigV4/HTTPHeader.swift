/// One header line as it arrived, name case preserved, with its lower-cased
/// name precomputed because SigV4 compares names case-insensitively.
public struct HTTPHeader: Sendable, Equatable {
    public let name: String
    public let lowercasedName: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.lowercasedName = ASCII.lowercased(name)
        self.value = value
    }

    public static func == (lhs: HTTPHeader, rhs: HTTPHeader) -> Bool {
        lhs.name == rhs.name && lhs.value == rhs.value
    }
}

/// ASCII helpers that avoid Unicode-aware String operations on hot paths.
enum ASCII {
    static func lowercased(_ s: String) -> String {
        var needs = false
        for b in s.utf8 where b >= 0x41 && b <= 0x5A { needs = true; break }
        guard needs else { return s }
        return String(decoding: s.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C
    }

    /// Trims and folds every whitespace run into one space (SigV4 "Trimall").
    static func trimAll(_ value: String, into out: inout [UInt8]) {
        var pendingSpace = false
        var started = false
        for b in value.utf8 {
            if isWhitespace(b) {
                pendingSpace = started
            } else {
                if pendingSpace { out.append(0x20); pendingSpace = false }
                out.append(b)
                started = true
            }
        }
    }

    static func trimmed(_ s: Substring) -> Substring {
        var start = s.startIndex
        var end = s.endIndex
        while start < end, isWhitespace(s.utf8[start]) { start = s.utf8.index(after: start) }
        while end > start {
            let before = s.utf8.index(before: end)
            if isWhitespace(s.utf8[before]) { end = before } else { break }
        }
        return s[start..<end]
    }
}
