/// The bytes a JSON string cannot hold as they are: a quote, a backslash or
/// a control byte (below 0x20), found 8 bytes at a time.
///
/// Why shared: the audit line encoder (deciding whether a value needs
/// escaping) and the collector's line scanner (skipping plain string bytes)
/// both run per request or per record, and both test for exactly this set.
/// The test is the classic "has a zero byte" trick (SWAR) applied to the
/// word XOR each special byte, and to the word minus 0x20 per byte; it can
/// report a byte that is not special (after a borrow from a special one),
/// never miss one, so callers confirm byte by byte.
public enum JSONSpecialBytes {
    @inlinable @inline(__always)
    public static func mayContainSpecial(_ word: UInt64) -> Bool {
        specialBits(word) != 0
    }

    /// The high bit of each byte of `word` (loaded little-endian) that may
    /// be special. The lowest bit set is always a special byte: a borrow
    /// only runs upward, from a special byte to the ones after it. So
    /// `specialBits(w).trailingZeroBitCount / 8` is exactly the offset of
    /// the first special byte of the word, when there is one.
    @inlinable @inline(__always)
    public static func specialBits(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
        return special & 0x8080_8080_8080_8080
    }
}
