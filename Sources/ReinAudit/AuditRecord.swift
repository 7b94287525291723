import Foundation
import ReinCrypto

/// One audited call, in the JSON shape every consumer reads.
///
/// Why this shape: field names follow CloudTrail's vocabulary where one
/// exists (event time, source address, user agent, request id) so security
/// teams recognise it, and `grants` is exactly what `rein policy suggest`
/// reads (`ObservedCall`). Each record carries its place in the sidecar's
/// hash chain (`sequence`, `prev_hash`, `hash`; see ``AuditChain``) so that
/// the collector can prove nothing was edited, dropped or reordered.
/// Secrets never appear: the record holds the agent's access key id, never a
/// secret, token or body. docs/audit-schema.md documents every field.
public struct AuditRecord: Sendable, Codable, Equatable {
    public struct Grant: Sendable, Codable, Equatable {
        public var action: String
        public var resources: [String]
        public init(action: String, resources: [String]) {
            self.action = action
            self.resources = resources
        }
    }

    /// Milliseconds spent in each phase of the request path.
    public struct Latency: Sendable, Codable, Equatable {
        public var verifyMs: Double?
        public var decideMs: Double?
        public var holdMs: Double?
        public var upstreamMs: Double?
        public var totalMs: Double?
        public init(verifyMs: Double? = nil, decideMs: Double? = nil, holdMs: Double? = nil, upstreamMs: Double? = nil, totalMs: Double? = nil) {
            self.verifyMs = verifyMs
            self.decideMs = decideMs
            self.holdMs = holdMs
            self.upstreamMs = upstreamMs
            self.totalMs = totalMs
        }
        enum CodingKeys: String, CodingKey {
            case verifyMs = "verify_ms", decideMs = "decide_ms", holdMs = "hold_ms", upstreamMs = "upstream_ms", totalMs = "total_ms"
        }
    }

    public static let schemaVersion = "rein.audit/v1"

    public var schema: String = AuditRecord.schemaVersion
    public var recordId: String
    /// What happened: `call` (an AWS call through the sidecar), `policy-change`,
    /// `access-denied` (a refused collector API call), `token-change` (the
    /// collector's API tokens reloaded), and the hold events.
    public var event: String = "call"
    /// Position in the sidecar's chain, from 1; 0 until ``AuditChain`` seals it.
    public var sequence: Int64 = 0
    /// The previous record's `hash` (64 zeros for the first record).
    public var prevHash: String?
    /// SHA-256 (hex) of this record's line without the `hash` key.
    public var hash: String?
    public var time: String
    public var sidecarId: String
    public var agentId: String?
    public var taskId: String?
    public var accessKeyId: String?
    public var sourceAddress: String?
    public var userAgent: String?
    /// `endpoint`, `proxy` (TLS interception or plain-http proxy), `tunnel` (passthrough).
    public var via: String
    public var service: String?
    public var region: String?
    public var operation: String?
    public var grants: [Grant]
    /// allow, deny, hold, hold-approved, error; in observe and learn modes a
    /// call enforce mode would refuse is `would-deny` (or `would-hold`) with
    /// `forwarded` true, which `rein policy suggest` reads as observed need.
    public var decision: String
    public var statementId: String?
    public var reason: String?
    public var mode: String?
    public var forwarded: Bool
    public var errorCode: String?
    public var upstreamHost: String?
    public var upstreamStatus: Int?
    public var awsRequestId: String?
    public var brokerSource: String?
    /// The broker role ARN and STS session name the call was re-signed as.
    public var brokerRole: String?
    public var brokerSession: String?
    /// Who approved a held call, and the scoped grant that allowed it.
    public var approver: String?
    public var grantId: String?
    /// The hold this call (or hold event) belongs to.
    public var holdId: String?
    /// The version of the task policy that decided (central allowlists).
    public var policyVersion: String?
    public var bytesIn: Int64
    public var bytesOut: Int64
    public var latency: Latency

    public init(recordId: String, time: String, sidecarId: String, via: String, decision: String) {
        self.recordId = recordId
        self.time = time
        self.sidecarId = sidecarId
        self.via = via
        self.decision = decision
        grants = []
        forwarded = false
        bytesIn = 0
        bytesOut = 0
        latency = Latency()
    }

    enum CodingKeys: String, CodingKey {
        case schema, recordId = "record_id", event, sequence, prevHash = "prev_hash", hash, time, sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id"
        case accessKeyId = "access_key_id", sourceAddress = "source_address", userAgent = "user_agent", via
        case service, region, operation, grants, decision, statementId = "statement_id", reason, mode, forwarded
        case errorCode = "error_code", upstreamHost = "upstream_host", upstreamStatus = "upstream_status"
        case awsRequestId = "aws_request_id", brokerSource = "broker_source", brokerRole = "broker_role"
        case brokerSession = "broker_session", approver, grantId = "grant_id", holdId = "hold_id", policyVersion = "policy_version", bytesIn = "bytes_in", bytesOut = "bytes_out"
        case latency
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        recordId = try c.decode(String.self, forKey: .recordId)
        event = try c.decodeIfPresent(String.self, forKey: .event) ?? "call"
        sequence = try c.decodeIfPresent(Int64.self, forKey: .sequence) ?? 0
        prevHash = try c.decodeIfPresent(String.self, forKey: .prevHash)
        hash = try c.decodeIfPresent(String.self, forKey: .hash)
        time = try c.decode(String.self, forKey: .time)
        sidecarId = try c.decode(String.self, forKey: .sidecarId)
        agentId = try c.decodeIfPresent(String.self, forKey: .agentId)
        taskId = try c.decodeIfPresent(String.self, forKey: .taskId)
        accessKeyId = try c.decodeIfPresent(String.self, forKey: .accessKeyId)
        sourceAddress = try c.decodeIfPresent(String.self, forKey: .sourceAddress)
        userAgent = try c.decodeIfPresent(String.self, forKey: .userAgent)
        via = try c.decode(String.self, forKey: .via)
        service = try c.decodeIfPresent(String.self, forKey: .service)
        region = try c.decodeIfPresent(String.self, forKey: .region)
        operation = try c.decodeIfPresent(String.self, forKey: .operation)
        grants = try c.decodeIfPresent([Grant].self, forKey: .grants) ?? []
        decision = try c.decode(String.self, forKey: .decision)
        statementId = try c.decodeIfPresent(String.self, forKey: .statementId)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        mode = try c.decodeIfPresent(String.self, forKey: .mode)
        forwarded = try c.decodeIfPresent(Bool.self, forKey: .forwarded) ?? false
        errorCode = try c.decodeIfPresent(String.self, forKey: .errorCode)
        upstreamHost = try c.decodeIfPresent(String.self, forKey: .upstreamHost)
        upstreamStatus = try c.decodeIfPresent(Int.self, forKey: .upstreamStatus)
        awsRequestId = try c.decodeIfPresent(String.self, forKey: .awsRequestId)
        brokerSource = try c.decodeIfPresent(String.self, forKey: .brokerSource)
        brokerRole = try c.decodeIfPresent(String.self, forKey: .brokerRole)
        brokerSession = try c.decodeIfPresent(String.self, forKey: .brokerSession)
        approver = try c.decodeIfPresent(String.self, forKey: .approver)
        grantId = try c.decodeIfPresent(String.self, forKey: .grantId)
        holdId = try c.decodeIfPresent(String.self, forKey: .holdId)
        policyVersion = try c.decodeIfPresent(String.self, forKey: .policyVersion)
        bytesIn = try c.decodeIfPresent(Int64.self, forKey: .bytesIn) ?? 0
        bytesOut = try c.decodeIfPresent(Int64.self, forKey: .bytesOut) ?? 0
        latency = try c.decodeIfPresent(Latency.self, forKey: .latency) ?? Latency()
    }

    /// The record as one line of JSON: keys sorted (so lines diff cleanly),
    /// absent values omitted, latencies in milliseconds to the microsecond.
    /// `hash` is never part of this line: ``AuditChain`` hashes exactly these
    /// bytes and appends `"hash"` as the last key (``chainedLine()``).
    ///
    /// Why by hand: this runs for every request, and Foundation's encoder
    /// costs tens of microseconds per record; the output is the same JSON
    /// (`JSONDecoder` reads it back, a test checks the round trip).
    public func jsonLine() throws -> [UInt8] {
        var marks = ChainMarks()
        return encode(marks: &marks)
    }

    /// Where ``encode(marks:)`` wrote `prev_hash`'s hex digits and
    /// `sequence`'s digits (for ``PreparedRecord``).
    struct ChainMarks {
        var prevHashDigits: Range<Int>?
        var sequenceDigits: Range<Int>?
    }

    func encode(marks: inout ChainMarks) -> [UInt8] {
        var w = JSONLineWriter()
        w.open()
        w.string("access_key_id", accessKeyId)
        w.string("agent_id", agentId)
        w.string("approver", approver)
        w.string("aws_request_id", awsRequestId)
        w.string("broker_role", brokerRole)
        w.string("broker_session", brokerSession)
        w.string("broker_source", brokerSource)
        w.int("bytes_in", bytesIn)
        w.int("bytes_out", bytesOut)
        w.string("decision", decision)
        w.string("error_code", errorCode)
        w.string("event", event)
        w.bool("forwarded", forwarded)
        w.string("grant_id", grantId)
        w.key("grants")
        w.raw("[")
        for (i, g) in grants.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"action\":")
            w.quoted(g.action)
            w.raw(",\"resources\":[")
            for (j, r) in g.resources.enumerated() {
                if j > 0 { w.raw(",") }
                w.quoted(r)
            }
            w.raw("]}")
        }
        w.raw("]")
        w.string("hold_id", holdId)
        w.key("latency")
        w.raw("{")
        var first = true
        w.milliseconds("decide_ms", latency.decideMs, first: &first)
        w.milliseconds("hold_ms", latency.holdMs, first: &first)
        w.milliseconds("total_ms", latency.totalMs, first: &first)
        w.milliseconds("upstream_ms", latency.upstreamMs, first: &first)
        w.milliseconds("verify_ms", latency.verifyMs, first: &first)
        w.raw("}")
        w.string("mode", mode)
        w.string("operation", operation)
        w.string("policy_version", policyVersion)
        if let prevHash {
            w.key("prev_hash")
            let start = w.count + 1
            w.quoted(prevHash)
            marks.prevHashDigits = start..<(w.count - 1)
        }
        w.string("reason", reason)
        w.string("record_id", recordId)
        w.string("region", region)
        w.string("schema", schema)
        w.key("sequence")
        let sequenceStart = w.count
        w.digits(sequence)
        marks.sequenceDigits = sequenceStart..<w.count
        w.string("service", service)
        w.string("sidecar_id", sidecarId)
        w.string("source_address", sourceAddress)
        w.string("statement_id", statementId)
        w.string("task_id", taskId)
        w.string("time", time)
        w.string("upstream_host", upstreamHost)
        if let upstreamStatus { w.int("upstream_status", Int64(upstreamStatus)) }
        w.string("user_agent", userAgent)
        w.string("via", via)
        w.close()
        return w.finish()
    }

    /// The line as shipped and exported: ``jsonLine()`` with `"hash"` added
    /// as the last key, so the hashed bytes are recovered by cutting it off.
    public func chainedLine() throws -> [UInt8] {
        var line = try jsonLine()
        guard let hash else { return line }
        line.removeLast(2) // "}\n"
        line += Array(",\"hash\":\"\(hash)\"}\n".utf8)
        return line
    }

    /// A random (version 4) UUID in lower case, from OpenSSL's DRBG through
    /// ``RandomPool``: no system call and no generator call per record
    /// (Foundation's UUID costs a file open here, and each `RAND_bytes` call
    /// about a microsecond).
    public static func newRecordId() -> String {
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random) { RandomPool.shared.fill($0) }
        return withUnsafeBytes(of: random) { random in
            String(unsafeUninitializedCapacity: 36) { out in
                var o = 0
                for i in 0..<16 {
                    var b = random[i]
                    if i == 6 { b = (b & 0x0f) | 0x40 }
                    if i == 8 { b = (b & 0x3f) | 0x80 }
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    out[o] = Hex.digit(b >> 4)
                    out[o + 1] = Hex.digit(b)
                    o += 2
                }
                return o
            }
        }
    }

    /// RFC 3339 UTC with milliseconds, as CloudTrail writes `eventTime`.
    public static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(unsafeUninitializedCapacity: 24) { out in
            var o = 0
            func digits(_ v: Int, _ n: Int, then separator: Character) {
                var x = v
                for i in stride(from: n - 1, through: 0, by: -1) {
                    out[o + i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x % 10)
                    x /= 10
                }
                out[o + n] = separator.asciiValue ?? 0
                o += n + 1
            }
            digits(Int(parts.tm_year) + 1900, 4, then: "-")
            digits(Int(parts.tm_mon) + 1, 2, then: "-")
            digits(Int(parts.tm_mday), 2, then: "T")
            digits(Int(parts.tm_hour), 2, then: ":")
            digits(Int(parts.tm_min), 2, then: ":")
            digits(Int(parts.tm_sec), 2, then: ".")
            digits(Int(ms % 1000), 3, then: "Z")
            return o
        }
    }
}
