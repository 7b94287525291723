/// The subset of CBOR (RFC 8949) that AWS's Smithy RPC v2 CBOR protocol uses,
/// decoded into the same ``JSONValue`` that JSON bodies produce, so that
/// input extraction has one tree to walk whatever the wire format.
///
/// Decoding is strict for the same reason ``StrictJSON`` is: a map with a
/// repeated key, a non-text key, invalid UTF-8 or bytes after the top-level
/// item could be read one way by Rein and another by AWS, so each is an
/// error. Mapping to ``JSONValue``:
///
/// | CBOR                                 | JSONValue                                |
/// |--------------------------------------|------------------------------------------|
/// | unsigned / negative integer          | `.number` (decimal text, full 65-bit range) |
/// | half / single / double float         | `.number` (shortest text of the value as a Double; `NaN`, `Infinity`, `-Infinity`) |
/// | byte string                          | `.string` (standard base64, padded)      |
/// | text string                          | `.string`                                |
/// | array, map (definite or indefinite)  | `.array`, `.object` (wire order)         |
/// | tag *n* content                      | the content; tag 1 (epoch time) must hold a number |
/// | false, true, null, undefined         | `.bool`, `.bool`, `.null`, `.null`       |
public enum CBOR {
    /// Decodes exactly one data item; nothing may follow it.
    ///
    /// - Parameter maxDepth: the deepest nesting of arrays, maps and tags
    ///   accepted; the top-level container is depth 1.
    public static func decode<C: Collection>(
        _ bytes: C, maxDepth: Int = 64
    ) throws(CBORError) -> JSONValue where C.Element == UInt8 {
        let result: Result<JSONValue, CBORError>
        if let r = bytes.withContiguousStorageIfAvailable({ decode(buffer: $0, maxDepth: maxDepth) }) {
            result = r
        } else {
            result = Array(bytes).withUnsafeBufferPointer { decode(buffer: $0, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    private static func decode(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<JSONValue, CBORError> {
        var decoder = Decoder(b: buffer, maxDepth: maxDepth)
        do throws(CBORError) {
            let value = try decoder.item(depth: 0)
            guard decoder.i == buffer.count else {
                throw CBORError(.trailingData, at: decoder.i, "\(buffer.count - decoder.i) bytes after the top-level item")
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    /// Encodes with definite lengths and the shortest argument form for every
    /// head (RFC 8949 preferred serialization), as botocore does.
    ///
    /// Map keys keep their stored order rather than being sorted: order is
    /// part of a ``JSONObject``'s identity, and AWS does not require sorted
    /// keys. Numbers: integer text within the 64-bit CBOR range becomes major
    /// type 0 or 1; `NaN`, `Infinity` and `-Infinity` become the half-float
    /// specials; any other number becomes a float64. Text that is not a
    /// number at all is encoded as a text string rather than invented.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(0xF6)
        case .bool(let b): out.append(b ? 0xF5 : 0xF4)
        case .string(let s): writeText(s, into: &out)
        case .number(let text): writeNumber(text, into: &out)
        case .array(let items):
            head(4, UInt64(items.count), into: &out)
            for item in items { write(item, into: &out) }
        case .object(let object):
            head(5, UInt64(object.count), into: &out)
            for entry in object.entries {
                writeText(entry.key, into: &out)
                write(entry.value, into: &out)
            }
        }
    }

    private static func writeText(_ s: String, into out: inout [UInt8]) {
        head(3, UInt64(s.utf8.count), into: &out)
        out.append(contentsOf: s.utf8)
    }

    private static func writeNumber(_ text: String, into out: inout [UInt8]) {
        switch text {
        case "NaN": out.append(contentsOf: [0xF9, 0x7E, 0x00]); return
        case "Infinity": out.append(contentsOf: [0xF9, 0x7C, 0x00]); return
        case "-Infinity": out.append(contentsOf: [0xF9, 0xFC, 0x00]); return
        default: break
        }
        if let (major, argument) = integerHead(text) {
            head(major, argument, into: &out)
            return
        }
        guard StrictJSON.isNumber(text), let d = Double(text) else {
            writeText(text, into: &out)
            return
        }
        out.append(0xFB)
        let bits = d.bitPattern
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    /// The major type and argument for integer text (`-?[0-9]+`) that CBOR's
    /// 64-bit integers can hold: 0 ... 2^64-1 and -2^64 ... -1.
    private static func integerHead(_ text: String) -> (major: UInt8, argument: UInt64)? {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        if text == minNegative { return (1, .max) }
        var magnitude: UInt64 = 0
        for c in digits.utf8 {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        if !negative || magnitude == 0 { return (0, magnitude) }
        return (1, magnitude - 1)
    }

    /// -2^64, the most negative CBOR integer (major type 1, argument 2^64-1).
    static let minNegative = "-18446744073709551616"

    /// A head in preferred serialization: the shortest argument that holds `value`.
    static func head(_ major: UInt8, _ value: UInt64, into out: inout [UInt8]) {
        let m = major << 5
        switch value {
        case 0..<24:
            out.append(m | UInt8(value))
        case 24...0xFF:
            out.append(m | 24)
            out.append(UInt8(value))
        case 0x100...0xFFFF:
            out.append(m | 25)
            out.append(UInt8(value >> 8)); out.append(UInt8(value & 0xFF))
        case 0x1_0000...0xFFFF_FFFF:
            out.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        default:
            out.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
    }
}

/// Why a CBOR item was refused, where, and (for duplicates) which key.
public struct CBORError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The input ended inside an item (or was empty).
        case truncated
        /// A reserved additional-information value (28–30), an indefinite
        /// length where none is allowed, or a badly formed indefinite string.
        case malformed
        /// A simple value other than false/true/null/undefined, or tag 1
        /// around something other than a number.
        case unsupported
        /// A text string (or chunk) that is not valid UTF-8.
        case invalidUTF8
        /// A map key that is not a text string.
        case nonStringKey
        /// The same key twice in one map.
        case duplicateKey
        /// A "break" byte (0xFF) outside an indefinite-length item.
        case unexpectedBreak
        /// Arrays, maps and tags nested deeper than the limit.
        case depth
        /// Bytes after the one top-level item.
        case trailingData
    }

    public let kind: Kind
    /// Byte offset into the input where the problem was found.
    public let offset: Int
    /// The repeated key, for ``Kind/duplicateKey``.
    public let key: String?
    /// What was expected or found, for operators.
    public let detail: String

    public init(_ kind: Kind, at offset: Int, _ detail: String, key: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
        self.key = key
    }

    public var description: String {
        "invalid CBOR at byte \(offset) (\(kind.rawValue)): \(detail)"
    }
}

/// One pass of recursive descent over a contiguous buffer.
private struct Decoder {
    let b: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0

    init(b: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.b = b
        self.maxDepth = maxDepth
    }

    var remaining: Int { b.count - i }

    mutating func item(depth: Int) throws(CBORError) -> JSONValue {
        guard i < b.count else { throw CBORError(.truncated, at: i, "expected a data item") }
        let start = i
        let initial = b[i]
        i += 1
        let major = initial >> 5
        let info = initial & 0x1F
        switch major {
        case 0:
            return .number(String(try argument(info, at: start)))
        case 1:
            return .number(Self.negativeText(try argument(info, at: start)))
        case 2:
            return .string(Self.base64(try byteString(major: 2, info: info, at: start)))
        case 3:
            return .string(try textString(info: info, at: start))
        case 4:
            return try array(info: info, at: start, depth: depth + 1)
        case 5:
            return try map(info: info, at: start, depth: depth + 1)
        case 6:
            let tag = try argument(info, at: start)
            try enter(depth + 1, at: start)
            let content = try item(depth: depth + 1)
            if tag == 1, content.numberText == nil {
                throw CBORError(.unsupported, at: start, "tag 1 (epoch time) must enclose a number")
            }
            return content
        default:
            return try simpleOrFloat(info: info, at: start)
        }
    }

    mutating func enter(_ depth: Int, at offset: Int) throws(CBORError) {
        guard depth <= maxDepth else {
            throw CBORError(.depth, at: offset, "nesting deeper than \(maxDepth) levels")
        }
    }

    /// The head's argument. Indefinite length (31) is not an argument.
    mutating func argument(_ info: UInt8, at start: Int) throws(CBORError) -> UInt64 {
        let width: Int
        switch info {
        case 0..<24: return UInt64(info)
        case 24: width = 1
        case 25: width = 2
        case 26: width = 4
        case 27: width = 8
        case 31: throw CBORError(.malformed, at: start, "indefinite length is not allowed for this major type")
        default: throw CBORError(.malformed, at: start, "reserved additional information \(info)")
        }
        guard remaining >= width else { throw CBORError(.truncated, at: i, "truncated \(width)-byte argument") }
        var v: UInt64 = 0
        for k in 0..<width { v = v << 8 | UInt64(b[i + k]) }
        i += width
        return v
    }

    /// A length that must fit in what is left of the input, each unit being
    /// at least `unit` bytes: a hostile count cannot make us allocate.
    mutating func length(_ info: UInt8, at start: Int, unit: Int) throws(CBORError) -> Int {
        let n = try argument(info, at: start)
        guard n <= UInt64(remaining / unit) else {
            throw CBORError(.truncated, at: start, "declared length \(n) exceeds the \(remaining) bytes left")
        }
        return Int(n)
    }

    mutating func byteString(major: UInt8, info: UInt8, at start: Int) throws(CBORError) -> [UInt8] {
        if info != 31 {
            let n = try length(info, at: start, unit: 1)
            defer { i += n }
            return Array(UnsafeBufferPointer(rebasing: b[i..<(i + n)]))
        }
        var bytes: [UInt8] = []
        for chunk in try chunks(major: major, at: start) { bytes.append(contentsOf: chunk) }
        return bytes
    }

    /// The definite-length chunks of an indefinite-length string, up to its break.
    mutating func chunks(major: UInt8, at start: Int) throws(CBORError) -> [UnsafeBufferPointer<UInt8>] {
        var parts: [UnsafeBufferPointer<UInt8>] = []
        while true {
            guard i < b.count else { throw CBORError(.truncated, at: start, "unterminated indefinite-length string") }
            let chunkStart = i
            let initial = b[i]
            i += 1
            if initial == 0xFF { return parts }
            guard initial >> 5 == major, initial & 0x1F != 31 else {
                throw CBORError(.malformed, at: chunkStart, "an indefinite-length string may only hold definite strings of its own type")
            }
            let n = try length(initial & 0x1F, at: chunkStart, unit: 1)
            parts.append(UnsafeBufferPointer(rebasing: b[i..<(i + n)]))
            i += n
        }
    }

    mutating func textString(info: UInt8, at start: Int) throws(CBORError) -> String {
        if info != 31 {
            let n = try length(info, at: start, unit: 1)
            let slice = UnsafeBufferPointer(rebasing: b[i..<(i + n)])
            if let bad = UTF8Check.firstInvalid(slice) {
                throw CBORError(.invalidUTF8, at: i + bad, "text string is not valid UTF-8")
            }
            i += n
            return String(decoding: slice, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        // RFC 8949 §3.2.3: every chunk must itself be valid UTF-8.
        for chunk in try chunks(major: 3, at: start) {
            if let bad = UTF8Check.firstInvalid(chunk), let base = chunk.baseAddress, let origin = b.baseAddress {
                throw CBORError(.invalidUTF8, at: base - origin + bad, "a chunk of an indefinite-length text string is not valid UTF-8")
            }
            bytes.append(contentsOf: chunk)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func array(info: UInt8, at start: Int, depth: Int) throws(CBORError) -> JSONValue {
        try enter(depth, at: start)
        var items: [JSONValue] = []
        if info == 31 {
            while true {
                guard i < b.count else { throw CBORError(.truncated, at: start, "unterminated indefinite-length array") }
                if b[i] == 0xFF { i += 1; return .array(items) }
                items.append(try item(depth: depth))
            }
        }
        let n = try length(info, at: start, unit: 1)
        items.reserveCapacity(n)
        for _ in 0..<n { items.append(try item(depth: depth)) }
        return .array(items)
    }

    mutating func map(info: UInt8, at start: Int, depth: Int) throws(CBORError) -> JSONValue {
        try enter(depth, at: start)
        var entries: [(key: String, value: JSONValue)] = []
        var seen = KeySet()
        if info == 31 {
            entries.reserveCapacity(4)
            while true {
                guard i < b.count else { throw CBORError(.truncated, at: start, "unterminated indefinite-length map") }
                if b[i] == 0xFF { i += 1; return .object(JSONObject(entries)) }
                try entry(into: &entries, seen: &seen, depth: depth)
            }
        }
        let n = try length(info, at: start, unit: 2)
        entries.reserveCapacity(n)
        for _ in 0..<n { try entry(into: &entries, seen: &seen, depth: depth) }
        return .object(JSONObject(entries))
    }

    mutating func entry(into entries: inout [(key: String, value: JSONValue)], seen: inout KeySet, depth: Int) throws(CBORError) {
        guard i < b.count else { throw CBORError(.truncated, at: i, "expected a map key") }
        let keyStart = i
        let initial = b[i]
        guard initial >> 5 == 3 else {
            if initial == 0xFF { throw CBORError(.unexpectedBreak, at: keyStart, "break inside a definite-length map") }
            throw CBORError(.nonStringKey, at: keyStart, "map keys must be text strings (major type 3), found major type \(initial >> 5)")
        }
        i += 1
        let key = try textString(info: initial & 0x1F, at: keyStart)
        guard seen.insert(key, into: entries) else {
            throw CBORError(.duplicateKey, at: keyStart, "the key \(JSONObject.quoted(key)) appears twice in one map", key: key)
        }
        entries.append((key: key, value: try item(depth: depth)))
    }

    mutating func simpleOrFloat(info: UInt8, at start: Int) throws(CBORError) -> JSONValue {
        switch info {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22, 23: return .null
        case 25:
            let bits = UInt16(try argument(info, at: start))
            return .number(Self.text(Self.halfToDouble(bits)))
        case 26:
            let bits = UInt32(try argument(info, at: start))
            return .number(Self.text(Double(Float(bitPattern: bits))))
        case 27:
            return .number(Self.text(Double(bitPattern: try argument(info, at: start))))
        case 31:
            throw CBORError(.unexpectedBreak, at: start, "break outside an indefinite-length item")
        case 24:
            guard i < b.count else { throw CBORError(.truncated, at: i, "truncated simple value") }
            let v = b[i]
            i += 1
            if v < 32 { throw CBORError(.malformed, at: start, "simple value \(v) must use the one-byte form") }
            throw CBORError(.unsupported, at: start, "simple value \(v) has no JSON meaning")
        case 28, 29, 30:
            throw CBORError(.malformed, at: start, "reserved additional information \(info)")
        default:
            throw CBORError(.unsupported, at: start, "simple value \(info) has no JSON meaning")
        }
    }

    /// IEEE 754 binary16 to Double, exactly (every half is a double).
    static func halfToDouble(_ h: UInt16) -> Double {
        let sign: FloatingPointSign = h & 0x8000 != 0 ? .minus : .plus
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = Double(h & 0x3FF)
        switch exponent {
        case 0: return Double(sign: sign, exponent: -24, significand: mantissa)
        case 31: return mantissa == 0 ? (sign == .minus ? -.infinity : .infinity) : .nan
        default: return Double(sign: sign, exponent: exponent - 25, significand: mantissa + 1024)
        }
    }

    /// A Double's number text: Swift's shortest round-trip form, or the
    /// names AWS's JSON protocols use for the IEEE specials.
    static func text(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return d.description
    }

    /// The decimal text of -1 - n, for any 64-bit n.
    static func negativeText(_ n: UInt64) -> String {
        if n <= UInt64(Int64.max) { return String(-1 - Int64(n)) }
        if n == .max { return CBOR.minNegative }
        return "-" + String(n + 1)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var k = 0
        while k + 3 <= bytes.count {
            let v = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2])
            out.append(table[Int(v >> 18)]); out.append(table[Int(v >> 12 & 0x3F)])
            out.append(table[Int(v >> 6 & 0x3F)]); out.append(table[Int(v & 0x3F)])
            k += 3
        }
        let rest = bytes.count - k
        if rest == 1 {
            let v = UInt32(bytes[k]) << 16
            out.append(table[Int(v >> 18)]); out.append(table[Int(v >> 12 & 0x3F)])
            out.append(UInt8(ascii: "=")); out.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let v = UInt32(bytes[k]) << 16 | UInt32(bytes[k + 1]) << 8
            out.append(table[Int(v >> 18)]); out.append(table[Int(v >> 12 & 0x3F)])
            out.append(table[Int(v >> 6 & 0x3F)]); out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
