/// Byte-range comparisons for the request-path parsers.
enum Bytes {
    /// Whether `b[lo..<hi]` equals `literal`.
    @inline(__always)
    static func equal(_ b: [UInt8], _ lo: Int, _ hi: Int, _ literal: [UInt8]) -> Bool {
        guard hi - lo == literal.count else { return false }
        var i = 0
        while i < literal.count {
            if b[lo + i] != literal[i] { return false }
            i += 1
        }
        return true
    }

    /// Strict byte-wise lexicographic order of two ranges of one buffer.
    @inline(__always)
    static func lessThan(_ b: ArraySlice<UInt8>, _ x: Range<Int>, _ y: Range<Int>) -> Bool {
        let n = min(x.count, y.count)
        var i = 0
        while i < n {
            let p = b[x.lowerBound + i], q = b[y.lowerBound + i]
            if p != q { return p < q }
            i += 1
        }
        return x.count < y.count
    }
}
