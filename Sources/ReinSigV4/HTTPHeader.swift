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

    /// For names known to be given with their lower-case form (no work per call).
    init(name: String, lowercasedName: String, value: String) {
        self.name = name
        self.lowercasedName = lowercasedName
        self.value = value
    }

    /// Case-insensitive name match against a lower-case name; the length
    /// check first makes the common mismatch nearly free.
    @inline(__always)
    public func hasName(_ lowercased: String) -> Bool {
        lowercasedName.utf8.count == lowercased.utf8.count && lowercasedName == lowercased
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
    /// Most values need no change, so they are checked first and copied whole.
    static func trimAll(_ value: String, into out: inout [UInt8]) {
        var copy = value
        copy.withUTF8 { buf in
            if isClean(buf) {
                out.append(contentsOf: buf)
                return
            }
            var pendingSpace = false
            var started = false
            for b in buf {
                if isWhitespace(b) {
                    pendingSpace = started
                } else {
                    if pendingSpace { out.append(0x20); pendingSpace = false }
                    out.append(b)
                    started = true
                }
            }
        }
    }

    /// True when trimming would change nothing: no leading or trailing
    /// whitespace, and no whitespace other than single spaces.
    @inline(__always)
    static func isClean(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = buf.first, let last = buf.last else { return true }
        if isWhitespace(first) || isWhitespace(last) { return false }
        // Eight bytes at a time: a word with no byte <= 0x20 holds no
        // whitespace at all (session tokens and signatures are long).
        var i = 0
        if let base = UnsafeRawPointer(buf.baseAddress) {
            while i + 8 <= buf.count {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                if (w &- ones &* 0x21) & ~w & highs != 0 { break }
                i += 8
            }
        }
        var previousSpace = false
        for b in buf[i...] {
            if b == 0x20 {
                if previousSpace { return false }
                previousSpace = true
            } else {
                if b < 0x20 && isWhitespace(b) { return false }
                previousSpace = false
            }
        }
        return true
    }

    /// Whether `s` starts with the ASCII `prefix`, byte for byte.
    @inline(__always)
    static func hasPrefix(_ s: String, _ prefix: StaticString) -> Bool {
        let p = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        return s.utf8.starts(with: p)
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
