import Foundation

/// One audited call, in the JSON shape every consumer reads.
///
/// Why this shape: field names follow CloudTrail's vocabulary where one
/// exists (event time, source address, user agent, request id) so security
/// teams recognise it, and `grants` is exactly what `rein policy suggest`
/// reads (`ObservedCall`). The audit issue adds the hash chain and record
/// ids; this version is the sidecar's local trail. Secrets never appear:
/// the record holds the agent's access key id, never a secret, token or body.
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
        public var upstreamMs: Double?
        public var totalMs: Double?
        public init(verifyMs: Double? = nil, decideMs: Double? = nil, upstreamMs: Double? = nil, totalMs: Double? = nil) {
            self.verifyMs = verifyMs
            self.decideMs = decideMs
            self.upstreamMs = upstreamMs
            self.totalMs = totalMs
        }
        enum CodingKeys: String, CodingKey {
            case verifyMs = "verify_ms", decideMs = "decide_ms", upstreamMs = "upstream_ms", totalMs = "total_ms"
        }
    }

    public static let schemaVersion = "rein.audit/v1alpha1"

    public var schema: String = AuditRecord.schemaVersion
    public var recordId: String
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
    /// allow, deny, error; in observe mode a would-be denial is `deny` with
    /// `forwarded` true and mode `observe`.
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
        case schema, recordId = "record_id", time, sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id"
        case accessKeyId = "access_key_id", sourceAddress = "source_address", userAgent = "user_agent", via
        case service, region, operation, grants, decision, statementId = "statement_id", reason, mode, forwarded
        case errorCode = "error_code", upstreamHost = "upstream_host", upstreamStatus = "upstream_status"
        case awsRequestId = "aws_request_id", brokerSource = "broker_source", bytesIn = "bytes_in", bytesOut = "bytes_out"
        case latency
    }

    /// The record as one line of JSON (keys sorted, so lines diff cleanly).
    public func jsonLine() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = Array(try encoder.encode(self))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// RFC 3339 UTC with milliseconds, as CloudTrail writes `eventTime`.
    public static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = ms / 1000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(ms % 1000))
    }
}
