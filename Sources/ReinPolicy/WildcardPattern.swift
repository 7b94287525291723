/// An IAM wildcard pattern: `*` matches any run of characters (including
/// none), `?` any single character. Compiled once into literal pieces, so
/// matching allocates nothing and never backtracks exponentially.
public struct WildcardPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let caseInsensitive: Bool
    private let pieces: [[UInt8]]      // literal runs between stars
    private let anchoredStart: Bool     // no leading star
    private let anchoredEnd: Bool       // no trailing star

    public init(_ text: String, caseInsensitive: Bool = false) {
        self.text = text
        self.caseInsensitive = caseInsensitive
        let bytes = Array(caseInsensitive ? text.lowercased().utf8 : text.utf8)
        pieces = bytes.split(separator: UInt8(ascii: "*"), omittingEmptySubsequences: false).map(Array.init)
        anchoredStart = bytes.first != UInt8(ascii: "*")
        anchoredEnd = bytes.last != UInt8(ascii: "*")
    }

    public var description: String { text }

    /// Whether the pattern has no wildcard at all.
    public var isLiteral: Bool { !text.contains("*") && !text.contains("?") }

    public func matches(_ value: String) -> Bool {
        matchesPrepared(caseInsensitive ? value.lowercased() : value)
    }

    /// For a value already lower-cased when the pattern is case-insensitive
    /// (the evaluator lower-cases an action once per decision).
    public func matchesPrepared(_ value: String) -> Bool {
        var copy = value
        return copy.withUTF8 { matches(bytes: $0) }
    }

    private func matches(bytes v: UnsafeBufferPointer<UInt8>) -> Bool {
        if pieces.count == 1 { return v.count == pieces[0].count && Self.equal(v, 0, pieces[0]) }
        var pos = 0
        for (i, piece) in pieces.enumerated() {
            if i == 0 {
                guard v.count >= piece.count, Self.equal(v, 0, piece) else { return false }
                pos = piece.count
            } else if i == pieces.count - 1 {
                guard v.count - pos >= piece.count, Self.equal(v, v.count - piece.count, piece) else { return false }
                return true
            } else {
                guard let found = Self.find(piece, in: v, from: pos) else { return false }
                pos = found + piece.count
            }
        }
        return true
    }

    /// `?` matches one byte of the value; other bytes must be equal.
    private static func equal(_ v: UnsafeBufferPointer<UInt8>, _ at: Int, _ piece: [UInt8]) -> Bool {
        guard at + piece.count <= v.count else { return false }
        for (k, p) in piece.enumerated() where p != UInt8(ascii: "?") && p != v[at + k] { return false }
        return true
    }

    private static func find(_ piece: [UInt8], in v: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        if piece.isEmpty { return start }
        var i = start
        while i + piece.count <= v.count {
            if equal(v, i, piece) { return i }
            i += 1
        }
        return nil
    }
}
