/// Writes one JSON object into a byte buffer, for ``AuditRecord/jsonLine()``.
///
/// Why this shape: it runs for every request on the event loop, so keys are
/// static bytes written without an escape check, string values are checked
/// for characters that need escaping 8 bytes at a time and copied in one
/// piece when none do (almost always: ids, ARNs, operation names), and
/// numbers are written as digits, never through an intermediate `String`.
struct JSONLineWriter {
    var bytes: [UInt8] = []
    private var needsComma = false

    init() { bytes.reserveCapacity(2048) } // a typical record is 1.1-1.3 KB: one allocation

    mutating func open() { bytes.append(UInt8(ascii: "{")) }

    mutating func close() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A key: plain ASCII known at compile time, so it is copied as is.
    mutating func key(_ name: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        quoted(value)
    }

    mutating func int(_ name: StaticString, _ value: Int64) {
        key(name)
        digits(value)
    }

    mutating func bool(_ name: StaticString, _ value: Bool) {
        key(name)
        if value { raw("true") } else { raw("false") }
    }

    /// The decimal digits of `value` (with a minus sign when negative).
    mutating func digits(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &buffer) { raw in
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i...]))
        }
    }

    /// Milliseconds with microsecond precision: `0.042`, `12.5` → `12.500`.
    mutating func milliseconds(_ value: Double) {
        guard value.isFinite, value >= 0 else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        let micros = Int64((value * 1000).rounded())
        digits(micros / 1000)
        bytes.append(UInt8(ascii: "."))
        let frac = micros % 1000
        bytes.append(UInt8(ascii: "0") + UInt8(frac / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(frac / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(frac % 10))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string with RFC 8259 escapes; `/` is not escaped.
    mutating func quoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard !Self.needsEscaping(utf8) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied != true {
            for b in value.utf8 { escaped(b) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(b)
        case 0x0A:
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "n"))
        case 0x0D:
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "r"))
        case 0x09:
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "t"))
        case 0..<0x20:
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      Self.hexDigits[Int(b >> 4)], Self.hexDigits[Int(b & 15)]])
        default:
            bytes.append(b)
        }
    }

    /// Whether any byte is a quote, a backslash or a control byte: 8 bytes
    /// at a time (``JSONSpecialBytes``), then the tail. A word flagged by
    /// mistake only sends the value down the escaping path, which escapes
    /// exactly what needs it.
    static func needsEscaping(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return false }
        var i = 0
        while i + 8 <= utf8.count {
            if JSONSpecialBytes.mayContainSpecial(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) { return true }
            i += 8
        }
        while i < utf8.count {
            let b = utf8[i]
            if b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return true }
            i += 1
        }
        return false
    }
}
