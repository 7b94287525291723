/// Strict UTF-8 validation (Unicode Table 3-7: no overlongs, no surrogates,
/// nothing above U+10FFFF), shared by the JSON and CBOR readers.
enum UTF8Check {
    enum Outcome {
        case valid(length: Int)
        case invalid(offset: Int, detail: String)
    }

    /// The multi-byte sequence starting at `i` (whose lead byte is >= 0x80).
    static func sequence(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Outcome {
        let lead = b[i]
        let length: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: return .invalid(offset: i, detail: "invalid UTF-8 lead byte \(hex(lead))")
        }
        guard i + length <= b.count else { return .invalid(offset: i, detail: "truncated UTF-8 sequence") }
        let second = b[i + 1]
        guard second >= lo, second <= hi else {
            return .invalid(offset: i + 1, detail: "invalid UTF-8 continuation byte \(hex(second))")
        }
        var k = 2
        while k < length {
            guard b[i + k] & 0xC0 == 0x80 else {
                return .invalid(offset: i + k, detail: "invalid UTF-8 continuation byte \(hex(b[i + k]))")
            }
            k += 1
        }
        return .valid(length: length)
    }

    /// The offset of the first invalid byte in `b`, or nil if all of it is
    /// well-formed UTF-8.
    static func firstInvalid(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < b.count {
            if b[i] < 0x80 { i += 1; continue }
            switch sequence(b, at: i) {
            case .valid(let length): i += length
            case .invalid(let offset, _): return offset
            }
        }
        return nil
    }

    static func hex(_ c: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return "0x" + String(decoding: [digits[Int(c >> 4)], digits[Int(c & 0xF)]], as: UTF8.self)
    }
}
