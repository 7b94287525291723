import ReinCrypto

/// Writes one JSON object into a byte buffer, for ``AuditRecord/jsonLine()``.
///
/// Why this shape: it runs for every request on the event loop (twice for a
/// forwarded call: its intent and its record), so keys are static bytes
/// written without an escape check, string values are checked for
/// characters that need escaping 8 bytes at a time and copied in one piece
/// when none do (almost always: ids, ARNs, operation names), and numbers are
/// written as digits, never through an intermediate `String`. The bytes go
/// into a buffer of its own rather than an `Array`: a line is about 200
/// small writes, and an array append checks uniqueness and capacity and
/// updates its header every time (measured: half the encoding time).
///
/// Non-copyable, so that the buffer has exactly one owner; ``finish()``
/// hands the line over as an array.
struct JSONLineWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    private(set) var count = 0
    private var needsComma = false

    init() {
        capacity = 2048 // a typical record is 1.1-1.3 KB: one allocation
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// The line written, as an array.
    consuming func finish() -> [UInt8] {
        [UInt8](UnsafeBufferPointer(start: base, count: count))
    }

    // MARK: - Raw bytes

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(to: count + n) }
    }

    private mutating func grow(to needed: Int) {
        let larger = max(capacity * 2, needed)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    @inline(__always)
    private mutating func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inline(__always)
    private mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func open() { byte(UInt8(ascii: "{")) }

    mutating func close() {
        byte(UInt8(ascii: "}"))
        byte(UInt8(ascii: "\n"))
    }

    mutating func raw(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    // MARK: - Keys and values

    /// A key: plain ASCII known at compile time, so it is copied as is.
    mutating func key(_ name: StaticString) {
        reserve(name.utf8CodeUnitCount + 4)
        if needsComma {
            base[count] = UInt8(ascii: ",")
            count += 1
        }
        needsComma = true
        base[count] = UInt8(ascii: "\"")
        count += 1
        write(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        base[count] = UInt8(ascii: "\"")
        base[count + 1] = UInt8(ascii: ":")
        count += 2
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

    /// The decimal digits of `value` (with a minus sign when negative),
    /// written backwards into a stack buffer, then copied in one piece.
    mutating func digits(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &buffer) { raw in
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            write(UnsafeRawBufferPointer(rebasing: raw[i...]))
        }
    }

    /// One `"name":value` member of a nested object of milliseconds (the
    /// latency object), after a comma unless it is the first.
    mutating func milliseconds(_ name: StaticString, _ value: Double?, first: inout Bool) {
        guard let value else { return }
        if !first { byte(UInt8(ascii: ",")) }
        first = false
        byte(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
        milliseconds(value)
    }

    /// Milliseconds with microsecond precision: `0.042`, `12.5` → `12.500`.
    mutating func milliseconds(_ value: Double) {
        guard value.isFinite, value >= 0 else {
            byte(UInt8(ascii: "0"))
            return
        }
        let micros = Int64((value * 1000).rounded())
        digits(micros / 1000)
        reserve(4)
        let frac = micros % 1000
        base[count] = UInt8(ascii: ".")
        base[count + 1] = UInt8(ascii: "0") + UInt8(frac / 100)
        base[count + 2] = UInt8(ascii: "0") + UInt8(frac / 10 % 10)
        base[count + 3] = UInt8(ascii: "0") + UInt8(frac % 10)
        count += 4
    }

    /// A JSON string with RFC 8259 escapes; `/` is not escaped.
    mutating func quoted(_ value: String) {
        byte(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            if Self.needsEscaping(utf8) {
                for b in utf8 { escaped(b) }
            } else {
                write(UnsafeRawBufferPointer(utf8))
            }
        }
        byte(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            byte(UInt8(ascii: "\\"))
            byte(b)
        case 0x0A:
            byte(UInt8(ascii: "\\"))
            byte(UInt8(ascii: "n"))
        case 0x0D:
            byte(UInt8(ascii: "\\"))
            byte(UInt8(ascii: "r"))
        case 0x09:
            byte(UInt8(ascii: "\\"))
            byte(UInt8(ascii: "t"))
        case 0..<0x20:
            raw("\\u00")
            byte(Hex.digit(b >> 4))
            byte(Hex.digit(b))
        default:
            byte(b)
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
