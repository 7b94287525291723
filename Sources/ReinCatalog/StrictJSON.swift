/// An RFC 8259 JSON parser that refuses anything two readers could disagree on.
///
/// Rein decides on the body it parsed, AWS acts on the body it parses. Where
/// JSON leaves room for interpretation (duplicate keys, invalid UTF-8, lone
/// surrogates, trailing bytes after the value) one reader may keep the first
/// key and the other the last, or one may repair text the other rejects.
/// Every such document is therefore an error here: Rein fails closed rather
/// than approve a request AWS would read differently.
///
/// The parser works on UTF-8 bytes, keeps numbers as their literal text and
/// objects in wire order (see ``JSONValue``).
public enum StrictJSON {
    /// Parses exactly one JSON value, with optional surrounding whitespace.
    ///
    /// - Parameters:
    ///   - maxDepth: the deepest nesting of arrays and objects accepted; the
    ///     top-level container is depth 1.
    ///   - maxBytes: larger inputs are refused before any parsing.
    public static func parse<C: Collection>(
        _ bytes: C, maxDepth: Int = 64, maxBytes: Int = 16 << 20
    ) throws(StrictJSONError) -> JSONValue where C.Element == UInt8 {
        let count = bytes.count
        guard count <= maxBytes else {
            throw StrictJSONError(.tooLarge, at: maxBytes, "the document is \(count) bytes, over the \(maxBytes)-byte limit")
        }
        let result: Result<JSONValue, StrictJSONError>
        if let r = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0, maxDepth: maxDepth) }) {
            result = r
        } else {
            result = Array(bytes).withUnsafeBufferPointer { parse(buffer: $0, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<JSONValue, StrictJSONError> {
        var parser = Parser(b: buffer, maxDepth: maxDepth)
        do throws(StrictJSONError) {
            return .success(try parser.document())
        } catch {
            return .failure(error)
        }
    }

    /// Serializes compactly: no whitespace, members in their stored order,
    /// non-ASCII text as raw UTF-8, and only the escapes JSON requires.
    ///
    /// The output always parses with ``parse(_:maxDepth:maxBytes:)``. A
    /// `.number` whose text is not a JSON number (such as the `NaN` or
    /// `Infinity` a CBOR float can carry) is written as a string, which is
    /// how AWS's JSON protocols spell those values.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(value, into: &out)
        return out
    }

    /// Appends the JSON string literal for `text` (quotes included).
    static func appendString(_ text: String, into out: inout [UInt8]) {
        out.append(Byte.quote)
        for byte in text.utf8 {
            switch byte {
            case Byte.quote: out.append(Byte.backslash); out.append(Byte.quote)
            case Byte.backslash: out.append(Byte.backslash); out.append(Byte.backslash)
            case 0x08: out.append(Byte.backslash); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(Byte.backslash); out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(Byte.backslash); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(Byte.backslash); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(Byte.backslash); out.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                out.append(contentsOf: Array(#"\u00"#.utf8))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(Byte.quote)
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .number(let text):
            if isNumber(text) {
                out.append(contentsOf: text.utf8)
            } else {
                appendString(text, into: &out)
            }
        case .string(let s): appendString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(Byte.comma) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (n, entry) in object.entries.enumerated() {
                if n > 0 { out.append(Byte.comma) }
                appendString(entry.key, into: &out)
                out.append(Byte.colon)
                write(entry.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Whether `text` matches RFC 8259's `number` production exactly.
    static func isNumber(_ text: String) -> Bool {
        let u = Array(text.utf8)
        return u.withUnsafeBufferPointer { buffer in
            var parser = Parser(b: buffer, maxDepth: 0)
            guard (try? parser.number()) != nil else { return false }
            return parser.i == buffer.count
        }
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 {
        v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10
    }
}

/// The byte values the parser and writer compare against.
enum Byte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
}

/// One pass of recursive descent over a contiguous buffer.
private struct Parser {
    let b: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0
    /// Reused for strings that contain escapes.
    var scratch: [UInt8] = []

    init(b: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.b = b
        self.maxDepth = maxDepth
    }

    mutating func document() throws(StrictJSONError) -> JSONValue {
        skipWhitespace()
        let v = try value(depth: 0)
        skipWhitespace()
        guard i == b.count else {
            throw StrictJSONError(.trailingData, at: i, "unexpected \(describe(b[i])) after the top-level value")
        }
        return v
    }

    mutating func skipWhitespace() {
        while i < b.count {
            switch b[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(StrictJSONError) -> JSONValue {
        guard i < b.count else { throw StrictJSONError(.unexpectedEnd, at: i, "expected a value") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case Byte.quote: return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw StrictJSONError(.syntax, at: i, "expected a value, found \(describe(b[i]))")
        }
    }

    mutating func literal(_ word: StaticString) throws(StrictJSONError) {
        let n = word.utf8CodeUnitCount
        let start = word.utf8Start
        for k in 0..<n {
            guard i + k < b.count else { throw StrictJSONError(.unexpectedEnd, at: i + k, "truncated literal \(word)") }
            guard b[i + k] == start[k] else {
                throw StrictJSONError(.syntax, at: i + k, "expected the literal \(word)")
            }
        }
        i += n
    }

    mutating func enter(_ depth: Int) throws(StrictJSONError) {
        guard depth <= maxDepth else {
            throw StrictJSONError(.depth, at: i, "nesting deeper than \(maxDepth) levels")
        }
    }

    mutating func object(depth: Int) throws(StrictJSONError) -> JSONValue {
        try enter(depth)
        i += 1  // {
        var entries: [(key: String, value: JSONValue)] = []
        entries.reserveCapacity(4)
        var seen = KeySet()
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
            return .object(JSONObject(entries))
        }
        while true {
            guard i < b.count else { throw StrictJSONError(.unexpectedEnd, at: i, "unterminated object") }
            guard b[i] == Byte.quote else {
                throw StrictJSONError(.syntax, at: i, "expected a member name, found \(describe(b[i]))")
            }
            let keyOffset = i
            let key = try string()
            guard seen.insert(key, into: entries) else {
                throw StrictJSONError(.duplicateKey, at: keyOffset, "the key \(JSONObject.quoted(key)) appears twice in one object", key: key)
            }
            skipWhitespace()
            guard i < b.count else { throw StrictJSONError(.unexpectedEnd, at: i, "unterminated object") }
            guard b[i] == Byte.colon else {
                throw StrictJSONError(.syntax, at: i, "expected ':' after a member name, found \(describe(b[i]))")
            }
            i += 1
            skipWhitespace()
            let v = try value(depth: depth)
            entries.append((key: key, value: v))
            skipWhitespace()
            guard i < b.count else { throw StrictJSONError(.unexpectedEnd, at: i, "unterminated object") }
            switch b[i] {
            case Byte.comma:
                i += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                i += 1
                return .object(JSONObject(entries))
            default:
                throw StrictJSONError(.syntax, at: i, "expected ',' or '}' in an object, found \(describe(b[i]))")
            }
        }
    }

    mutating func array(depth: Int) throws(StrictJSONError) -> JSONValue {
        try enter(depth)
        i += 1  // [
        var items: [JSONValue] = []
        items.reserveCapacity(4)
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            items.append(try value(depth: depth))
            skipWhitespace()
            guard i < b.count else { throw StrictJSONError(.unexpectedEnd, at: i, "unterminated array") }
            switch b[i] {
            case Byte.comma:
                i += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                i += 1
                return .array(items)
            default:
                throw StrictJSONError(.syntax, at: i, "expected ',' or ']' in an array, found \(describe(b[i]))")
            }
        }
    }

    /// Reads a string starting at its opening quote. Unescaped runs are
    /// validated in place and copied once; escapes go through `scratch`.
    mutating func string() throws(StrictJSONError) -> String {
        let open = i
        i += 1
        var runStart = i
        var escaped = false
        while i < b.count {
            let c = b[i]
            if c == Byte.quote {
                let text: String
                if escaped {
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
                    text = String(decoding: scratch, as: UTF8.self)
                } else {
                    text = String(decoding: UnsafeBufferPointer(rebasing: b[runStart..<i]), as: UTF8.self)
                }
                i += 1
                return text
            } else if c == Byte.backslash {
                if !escaped {
                    escaped = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
                try escape()
                runStart = i
            } else if c < 0x20 {
                throw StrictJSONError(.controlCharacter, at: i, "unescaped control character 0x\(hex2(c)) in a string")
            } else if c < 0x80 {
                i += 1
            } else {
                i += try utf8Sequence()
            }
        }
        throw StrictJSONError(.unexpectedEnd, at: open, "unterminated string")
    }

    /// Decodes the escape at `i` (a backslash) into `scratch`.
    mutating func escape() throws(StrictJSONError) {
        let at = i
        guard i + 1 < b.count else { throw StrictJSONError(.unexpectedEnd, at: at, "truncated escape") }
        let c = b[i + 1]
        i += 2
        switch c {
        case Byte.quote, Byte.backslash, UInt8(ascii: "/"): scratch.append(c)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hex4()
            var scalar: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                guard i + 1 < b.count, b[i] == Byte.backslash, b[i + 1] == UInt8(ascii: "u") else {
                    throw StrictJSONError(.loneSurrogate, at: at, "high surrogate \\u\(hex4text(unit)) without a low surrogate")
                }
                i += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw StrictJSONError(.loneSurrogate, at: at, "high surrogate \\u\(hex4text(unit)) followed by \\u\(hex4text(low))")
                }
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw StrictJSONError(.loneSurrogate, at: at, "low surrogate \\u\(hex4text(unit)) without a high surrogate")
            default:
                scalar = UInt32(unit)
            }
            appendUTF8(scalar)
        default:
            throw StrictJSONError(.invalidEscape, at: at, "\\\(describe(c)) is not a JSON escape")
        }
    }

    mutating func hex4() throws(StrictJSONError) -> UInt16 {
        guard i + 4 <= b.count else { throw StrictJSONError(.unexpectedEnd, at: i, "truncated \\u escape") }
        var v: UInt16 = 0
        for k in 0..<4 {
            let c = b[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw StrictJSONError(.invalidEscape, at: i + k, "\(describe(c)) is not a hex digit in a \\u escape")
            }
            v = v << 4 | UInt16(d)
        }
        i += 4
        return v
    }

    mutating func appendUTF8(_ s: UInt32) {
        switch s {
        case 0..<0x80:
            scratch.append(UInt8(s))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (s >> 6)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (s >> 12)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (s >> 18)))
            scratch.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    /// The length of the well-formed multi-byte UTF-8 sequence at `i`, or
    /// an encoding error.
    func utf8Sequence() throws(StrictJSONError) -> Int {
        switch UTF8Check.sequence(b, at: i) {
        case .valid(let length): return length
        case .invalid(let offset, let detail): throw StrictJSONError(.encoding, at: offset, detail)
        }
    }

    /// Reads `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` and
    /// returns its text.
    mutating func number() throws(StrictJSONError) -> String {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, isDigit(b[i]) else {
            throw StrictJSONError(.invalidNumber, at: i, "a number needs a digit after its sign")
        }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if i < b.count, isDigit(b[i]) {
                throw StrictJSONError(.invalidNumber, at: start, "leading zeros are not allowed")
            }
        } else {
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard i < b.count, isDigit(b[i]) else {
                throw StrictJSONError(.invalidNumber, at: i, "a fraction needs at least one digit")
            }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, isDigit(b[i]) else {
                throw StrictJSONError(.invalidNumber, at: i, "an exponent needs at least one digit")
            }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
    }

    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    func describe(_ c: UInt8) -> String {
        (0x21..<0x7F).contains(c) ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(hex2(c))"
    }

    func hex2(_ c: UInt8) -> String { String(UTF8Check.hex(c).dropFirst(2)) }

    func hex4text(_ v: UInt16) -> String { hex2(UInt8(v >> 8)) + hex2(UInt8(v & 0xFF)) }
}
