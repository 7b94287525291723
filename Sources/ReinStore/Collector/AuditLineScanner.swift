import Foundation
import ReinAudit

/// Reads the fields the collector indexes out of one chained record line,
/// and checks the JSON type of every field ``AuditRecord`` decodes, without
/// Foundation's `JSONDecoder`.
///
/// Why: `JSONDecoder` costs about 26 µs per record on the target machine,
/// which alone caps ingest below 40k records/s; this scanner costs a few
/// microseconds. It is deliberately never more lenient than the decoder:
/// anything it does not fully understand (duplicate keys, unusual number
/// forms, deep nesting, another schema) makes it give up, and the caller
/// falls back to ``ChainedLine/init(parsing:)``, whose verdict is final.
struct AuditLineScanner {
    struct Fields {
        var recordId = ""
        var sequence: Int64 = 0
        var prevHash: String?
        var time = ""
        var sidecarId = ""
        var agentId: String?
        var taskId: String?
        var event = "call"
        var decision = ""
        var grants: [AuditRecord.Grant] = []
        /// The first four characters of the agent's key id (`ASIA`, `AKIA`), for the credential facts.
        var accessKeyKind: String?
        var brokerSource: String?
        var forwarded = false
    }

    private enum Key: Int {
        case schema, recordId, event, sequence, prevHash, hash, time, sidecarId, agentId, taskId
        case accessKeyId, sourceAddress, userAgent, via, service, region, operation, grants, decision, statementId
        case reason, mode, forwarded, errorCode, upstreamHost, upstreamStatus, awsRequestId, brokerSource, brokerRole
        case brokerSession, approver, grantId, policyVersion, bytesIn, bytesOut, latency
    }

    private static let keyNames: [(String, Key)] = [
        ("schema", .schema), ("record_id", .recordId), ("event", .event), ("sequence", .sequence), ("prev_hash", .prevHash),
        ("hash", .hash), ("time", .time), ("sidecar_id", .sidecarId), ("agent_id", .agentId), ("task_id", .taskId),
        ("access_key_id", .accessKeyId), ("source_address", .sourceAddress), ("user_agent", .userAgent), ("via", .via),
        ("service", .service), ("region", .region), ("operation", .operation), ("grants", .grants), ("decision", .decision),
        ("statement_id", .statementId), ("reason", .reason), ("mode", .mode), ("forwarded", .forwarded),
        ("error_code", .errorCode), ("upstream_host", .upstreamHost), ("upstream_status", .upstreamStatus),
        ("aws_request_id", .awsRequestId), ("broker_source", .brokerSource), ("broker_role", .brokerRole),
        ("broker_session", .brokerSession), ("approver", .approver), ("grant_id", .grantId),
        ("policy_version", .policyVersion), ("bytes_in", .bytesIn), ("bytes_out", .bytesOut), ("latency", .latency),
    ]

    /// Known keys grouped by byte length, so a key is matched with a few memcmp-sized compares.
    private static let keysByLength: [[([UInt8], Key)]] = {
        var table = [[([UInt8], Key)]](repeating: [], count: 17)
        for (name, key) in keyNames { table[name.utf8.count].append((Array(name.utf8), key)) }
        return table
    }()

    private static let schemaBytes = Array(AuditRecord.schemaVersion.utf8)
    private static let latencyKeys: [[UInt8]] = ["verify_ms", "decide_ms", "hold_ms", "upstream_ms", "total_ms"].map { Array($0.utf8) }
    private static let maxDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The fields of `line` (one JSON object, no trailing newline), or nil
    /// when the line needs the authoritative decoder.
    static func scan(_ line: UnsafeBufferPointer<UInt8>) -> Fields? {
        // Non-ASCII text must be valid UTF-8, as the decoder requires.
        if !isASCII(line), String(validating: line, as: UTF8.self) == nil { return nil }
        var scanner = AuditLineScanner(line)
        return scanner.record()
    }

    /// Whether every byte is below 0x80, tested 8 bytes at a time (a byte
    /// loop over each 1 KB line was a visible share of the parse).
    private static func isASCII(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = line.baseAddress else { return true }
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= line.count {
            high |= UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            i += 8
        }
        while i < line.count {
            high |= UInt64(line[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    // MARK: the record object

    private mutating func record() -> Fields? {
        var f = Fields()
        var seen: UInt64 = 0
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return nil }
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            repeat {
                skipSpace()
                guard let name = keyRange() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                if let key = Self.key(bytes[name]) {
                    let bit: UInt64 = 1 << UInt64(key.rawValue)
                    guard seen & bit == 0 else { return nil }
                    seen |= bit
                    guard value(for: key, into: &f) else { return nil }
                } else {
                    guard skipValue(depth: 1) else { return nil }
                }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        skipSpace()
        guard i == bytes.count else { return nil }
        let required: [Key] = [.schema, .recordId, .time, .sidecarId, .via, .decision]
        for key in required where seen & (1 << UInt64(key.rawValue)) == 0 { return nil }
        return f
    }

    private mutating func value(for key: Key, into f: inout Fields) -> Bool {
        switch key {
        case .schema:
            guard let r = stringRange(), !r.hasEscapes, bytes[r.range].elementsEqual(Self.schemaBytes) else { return false }
        case .recordId: guard let s = string() else { return false }; f.recordId = s
        case .time: guard let s = string() else { return false }; f.time = s
        case .sidecarId: guard let s = string() else { return false }; f.sidecarId = s
        case .decision: guard let s = string() else { return false }; f.decision = s
        case .via: guard stringRange() != nil else { return false }
        case .event: return nullableString { f.event = $0 }
        case .prevHash: return nullableString { f.prevHash = $0 }
        case .agentId: return nullableString { f.agentId = $0 }
        case .taskId: return nullableString { f.taskId = $0 }
        case .sequence:
            if takeNull() { return true }
            guard let n = integer() else { return false }; f.sequence = n
        case .upstreamStatus, .bytesIn, .bytesOut:
            if takeNull() { return true }
            guard integer() != nil else { return false }
        case .forwarded:
            if takeNull() { return true }
            if takeLiteral("true") {
                f.forwarded = true
            } else {
                guard takeLiteral("false") else { return false }
            }
        case .accessKeyId: return nullableString { f.accessKeyKind = String($0.prefix(4)) }
        case .brokerSource: return nullableString { f.brokerSource = String($0.prefix(64)) }
        case .grants:
            if takeNull() { return true }
            guard let g = grants() else { return false }; f.grants = g
        case .latency:
            if takeNull() { return true }
            guard latency() else { return false }
        case .hash, .sourceAddress, .userAgent, .service, .region, .operation, .statementId, .reason, .mode,
             .errorCode, .upstreamHost, .awsRequestId, .brokerRole, .brokerSession, .approver, .grantId,
             .policyVersion:
            if takeNull() { return true }
            guard stringRange() != nil else { return false }
        }
        return true
    }

    /// A string or `null` (which leaves the field as it is).
    private mutating func nullableString(_ set: (String) -> Void) -> Bool {
        if takeNull() { return true }
        guard let s = string() else { return false }
        set(s)
        return true
    }

    private mutating func grants() -> [AuditRecord.Grant]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var out: [AuditRecord.Grant] = []
        skipSpace()
        if take(UInt8(ascii: "]")) { return out }
        repeat {
            skipSpace()
            guard let g = grant() else { return nil }
            out.append(g)
            skipSpace()
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "]")) else { return nil }
        return out
    }

    private mutating func grant() -> AuditRecord.Grant? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var action: String?
        var resources: [String]?
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            repeat {
                skipSpace()
                guard let name = keyRange() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                let k = bytes[name]
                if k.elementsEqual("action".utf8) {
                    guard action == nil, let s = string() else { return nil }
                    action = s
                } else if k.elementsEqual("resources".utf8) {
                    guard resources == nil, take(UInt8(ascii: "[")) else { return nil }
                    var list: [String] = []
                    skipSpace()
                    if !take(UInt8(ascii: "]")) {
                        repeat {
                            skipSpace()
                            guard let s = string() else { return nil }
                            list.append(s)
                            skipSpace()
                        } while take(UInt8(ascii: ","))
                        guard take(UInt8(ascii: "]")) else { return nil }
                    }
                    resources = list
                } else {
                    guard skipValue(depth: 3) else { return nil }
                }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        guard let action, let resources else { return nil }
        return AuditRecord.Grant(action: action, resources: resources)
    }

    /// `latency`: an object whose known keys hold numbers (or null).
    private mutating func latency() -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if take(UInt8(ascii: "}")) { return true }
        var seen = 0
        repeat {
            skipSpace()
            guard let name = keyRange() else { return false }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipSpace()
            let k = bytes[name]
            if let index = Self.latencyKeys.firstIndex(where: { k.elementsEqual($0) }) {
                guard seen & (1 << index) == 0 else { return false }
                seen |= 1 << index
                guard takeNull() || number(integerOnly: false) != nil else { return false }
            } else {
                guard skipValue(depth: 2) else { return false }
            }
            skipSpace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}"))
    }

    // MARK: tokens

    private static func key(_ name: Slice<UnsafeBufferPointer<UInt8>>) -> Key? {
        guard name.count < keysByLength.count, let base = name.base.baseAddress else { return nil }
        let start = base + name.startIndex
        for (candidate, key) in keysByLength[name.count] where candidate.withUnsafeBufferPointer({ memcmp($0.baseAddress!, start, name.count) == 0 }) {
            return key
        }
        return nil
    }

    @inline(__always) private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    @inline(__always) private mutating func take(_ byte: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    private mutating func takeLiteral(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        guard bytes[i..<(i + n)].elementsEqual(w) else { return false }
        i += n
        return true
    }

    private mutating func takeNull() -> Bool { takeLiteral("null") }

    /// A key without escapes (every key AuditRecord knows is plain ASCII; an
    /// escaped key is left to the decoder).
    private mutating func keyRange() -> Range<Int>? {
        guard let r = stringRange(), !r.hasEscapes else { return nil }
        return r.range
    }

    /// The bytes between a string's quotes, checking escapes and control bytes.
    private mutating func stringRange() -> (range: Range<Int>, hasEscapes: Bool)? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        var escapes = false
        while true {
            skipToSpecial()
            guard i < bytes.count else { return nil }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let r = start..<i
                i += 1
                return (r, escapes)
            }
            if b < 0x20 { return nil }
            // A backslash.
            escapes = true
            guard i + 1 < bytes.count else { return nil }
            switch bytes[i + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                i += 2
            case UInt8(ascii: "u"):
                guard i + 5 < bytes.count, (2...5).allSatisfy({ JSONByte.isDigit(bytes[i + $0]) }) else { return nil }
                i += 6
            default: return nil
            }
        }
    }

    /// Moves to the next quote, backslash or control byte (or the end), 8
    /// bytes at a time: the first special byte of a word is found exactly
    /// from ``JSONSpecialBytes/specialBits(_:)`` (a byte loop was a fifth of
    /// ingest's parse time, and after it the loop to the closing quote still
    /// was the scanner's largest cost).
    @inline(__always) private mutating func skipToSpecial() {
        if let base = bytes.baseAddress {
            while i + 8 <= bytes.count {
                let bits = JSONSpecialBytes.specialBits(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
                if bits != 0 {
                    i += bits.trailingZeroBitCount >> 3
                    return
                }
                i += 8
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { return }
            i += 1
        }
    }

    /// A string's decoded value.
    private mutating func string() -> String? {
        guard let r = stringRange() else { return nil }
        let raw = UnsafeBufferPointer(rebasing: bytes[r.range])
        if !r.hasEscapes { return String(decoding: raw, as: UTF8.self) }
        return Self.unescape(raw)
    }

    private static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var j = 0
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 { v = v << 4 | UInt32(JSONByte.nibble(raw[at + k])) }
            return v
        }
        while j < raw.count {
            let b = raw[j]
            guard b == UInt8(ascii: "\\") else { out.append(b); j += 1; continue }
            let e = raw[j + 1]
            j += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(j)
                j += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard j + 6 <= raw.count, raw[j] == UInt8(ascii: "\\"), raw[j + 1] == UInt8(ascii: "u") else { return nil }
                    let low = hex4(j + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    j += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    return nil
                }
                guard let s = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: String(Character(s)).utf8)
            default: out.append(e) // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON number; with `integerOnly`, one without fraction or exponent
    /// that fits an Int64.
    private mutating func number(integerOnly: Bool) -> Int64? {
        let start = i
        var negative = false
        if take(UInt8(ascii: "-")) { negative = true }
        guard i < bytes.count, JSONByte.isDecimal(bytes[i]) else { return nil }
        var value: Int64 = 0
        var overflow = false
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, JSONByte.isDecimal(bytes[i]) {
                let d = Int64(bytes[i] - UInt8(ascii: "0"))
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(d)
                overflow = overflow || o1 || o2
                value = s
                i += 1
            }
        }
        var fractional = false
        if take(UInt8(ascii: ".")) {
            fractional = true
            guard i < bytes.count, JSONByte.isDecimal(bytes[i]) else { return nil }
            while i < bytes.count, JSONByte.isDecimal(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            fractional = true
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, JSONByte.isDecimal(bytes[i]) else { return nil }
            while i < bytes.count, JSONByte.isDecimal(bytes[i]) { i += 1 }
        }
        guard i > start else { return nil }
        if integerOnly {
            guard !fractional, !overflow else { return nil }
            return negative ? -value : value
        }
        return 0
    }

    private mutating func integer() -> Int64? { number(integerOnly: true) }

    /// Checks and skips any JSON value (for keys the collector does not read).
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth <= Self.maxDepth, i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "\""): return stringRange() != nil
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                skipSpace()
                guard stringRange() != nil else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): return takeLiteral("true")
        case UInt8(ascii: "f"): return takeLiteral("false")
        case UInt8(ascii: "n"): return takeNull()
        default: return number(integerOnly: false) != nil
        }
    }
}

/// Byte classes for the scanner.
private enum JSONByte {
    @inline(__always) static func isDecimal(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool {
        isDecimal(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46)
    }
    @inline(__always) static func nibble(_ b: UInt8) -> UInt8 {
        isDecimal(b) ? b - 0x30 : (b | 0x20) - 0x61 + 10
    }
}
