/// Lower-case hex encoding and strict decoding.
public enum Hex {
    /// The lower-case hex digit of the low four bits of `nibble`: for
    /// encoders that write hex into their own buffers (record ids, JSON
    /// `\u` escapes).
    @inlinable @inline(__always)
    public static func digit(_ nibble: UInt8) -> UInt8 {
        let n = nibble & 0x0f
        return n < 10 ? UInt8(ascii: "0") + n : UInt8(ascii: "a") - 10 + n
    }

    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            guard let base = out.baseAddress else { return 0 }
            // Two digits per byte from one table load (every hash and
            // signature is hex: a record's chain hash, SigV4 signatures).
            let pairs = UnsafeMutableRawPointer(base)
            digitPairs.withUnsafeBufferPointer { table in
                for (k, b) in bytes.enumerated() {
                    pairs.storeBytes(of: table[Int(b)], toByteOffset: 2 * k, as: UInt16.self)
                }
            }
            return bytes.count * 2
        }
    }

    /// The two lower-case digits of each byte value, as they lie in memory.
    private static let digitPairs: [UInt16] = (0...255).map { b in
        let hi = UInt16(digit(UInt8(b) >> 4)), lo = UInt16(digit(UInt8(b)))
        return (lo << 8 | hi).littleEndian
    }

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// Decodes hex (either case). Returns nil on odd length or a non-hex digit.
    public static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = value(utf8[i]), let lo = value(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always)
    public static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
