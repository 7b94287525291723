/// Writes one JSON object into a byte buffer, for ``AuditRecord/jsonLine()``.
struct JSONLineWriter {
    var bytes: [UInt8] = []
    private var needsComma = false

    init() { bytes.reserveCapacity(2048) } // a typical record is 1.1-1.3 KB: one allocation

    mutating func open() { bytes.append(UInt8(ascii: "{")) }

    mutating func close() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    mutating func key(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        quoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        quoted(value)
    }

    mutating func int(_ name: String, _ value: Int64) {
        key(name)
        raw(String(value))
    }

    mutating func bool(_ name: String, _ value: Bool) {
        key(name)
        raw(value ? "true" : "false")
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string with RFC 8259 escapes; `/` is not escaped.
    ///
    /// Why the fast path: almost every value (ids, ARNs, operation names)
    /// needs no escaping, and one bulk copy costs a fraction of a
    /// byte-by-byte append on the per-request path.
    mutating func quoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                bytes.append(contentsOf: utf8)
                return
            }
            for b in utf8 {
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
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Milliseconds with microsecond precision: `0.042`, `12.5` → `12.500`.
    static func milliseconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "0" }
        let micros = Int64((value * 1000).rounded())
        let frac = micros % 1000
        let fracText = frac < 10 ? "00\(frac)" : frac < 100 ? "0\(frac)" : "\(frac)"
        return "\(micros / 1000).\(fracText)"
    }
}
