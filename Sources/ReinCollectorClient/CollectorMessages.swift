/// The JSON bodies of docs/collector-api.md, as the client sends and reads them.
///
/// Why one namespace: these are plain wire shapes with no behaviour; keeping
/// them together makes the contract reviewable against the API doc in one
/// place.
public enum CollectorMessages {
    public struct Registration: Codable, Sendable, Equatable {
        public var sidecarId: String
        public var agentId: String
        public var taskId: String?
        public var publicKey: String
        public var version: String
        public init(sidecarId: String, agentId: String, taskId: String?, publicKey: String, version: String) {
            self.sidecarId = sidecarId
            self.agentId = agentId
            self.taskId = taskId
            self.publicKey = publicKey
            self.version = version
        }
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", publicKey = "public_key", version
        }
    }

    public struct RegistrationReceipt: Codable, Sendable {
        public var sidecarId: String?
        public var keyStatus: String
        enum CodingKeys: String, CodingKey { case sidecarId = "sidecar_id", keyStatus = "key_status" }
    }

    public struct Heartbeat: Codable, Sendable, Equatable {
        public var sidecarId: String
        public var agentId: String
        public var taskId: String?
        public var policyVersion: String?
        public var spoolDepth: Int64
        public var spoolBytes: Int64
        public var lastSequence: Int64
        public var ready: Bool
        /// The sidecar's clock when it sent this (RFC 3339, milliseconds): the
        /// collector compares it with its own, since record times come from it.
        public var time: String?
        /// Set (true) only on the last heartbeat, sent as the sidecar stops:
        /// with an empty spool the collector then shows it `stopped`, not silent.
        public var stopping: Bool?
        public init(sidecarId: String, agentId: String, taskId: String?, policyVersion: String?, spoolDepth: Int64,
                    spoolBytes: Int64, lastSequence: Int64, ready: Bool, time: String? = nil, stopping: Bool? = nil) {
            self.stopping = stopping
            self.sidecarId = sidecarId
            self.agentId = agentId
            self.taskId = taskId
            self.policyVersion = policyVersion
            self.spoolDepth = spoolDepth
            self.spoolBytes = spoolBytes
            self.lastSequence = lastSequence
            self.ready = ready
            self.time = time
        }
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", policyVersion = "policy_version"
            case spoolDepth = "spool_depth", spoolBytes = "spool_bytes", lastSequence = "last_sequence", ready, time, stopping
        }
    }

    public struct BatchReceipt: Codable, Sendable, Equatable {
        /// The sidecar whose batch this acknowledges.
        public var sidecarId: String?
        public var accepted: Int
        public var duplicates: Int
        public var checkpoints: Int
        public var findings: Int
        public var throughSequence: Int64?
        public init(sidecarId: String?, accepted: Int, duplicates: Int, checkpoints: Int, findings: Int, throughSequence: Int64?) {
            self.sidecarId = sidecarId
            self.accepted = accepted
            self.duplicates = duplicates
            self.checkpoints = checkpoints
            self.findings = findings
            self.throughSequence = throughSequence
        }
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", accepted, duplicates, checkpoints, findings, throughSequence = "through_sequence"
        }
    }

    public struct PolicyPush: Codable, Sendable {
        public var document: String
        public var message: String
        public var forceReason: String?
        public init(document: String, message: String, forceReason: String?) {
            self.document = document
            self.message = message
            self.forceReason = forceReason
        }
        enum CodingKeys: String, CodingKey { case document, message, forceReason = "force_reason" }
    }

    public struct PolicyPushReceipt: Codable, Sendable {
        public var agentId: String
        public var version: Int
        public var etag: String?
        enum CodingKeys: String, CodingKey { case agentId = "agent_id", version, etag }
    }

    public struct Rollback: Codable, Sendable {
        public var version: Int
        public var message: String
        public var forceReason: String?
        public init(version: Int, message: String, forceReason: String? = nil) {
            self.version = version
            self.message = message
            self.forceReason = forceReason
        }
        enum CodingKeys: String, CodingKey { case version, message, forceReason = "force_reason" }
    }

    /// One entry of `GET /v1/policies` and of a history.
    public struct PolicyVersionInfo: Codable, Sendable {
        public var agentId: String?
        public var version: Int
        public var author: String?
        public var time: String?
        public var message: String?
        public var forceReason: String?
        public var sha256: String?
        enum CodingKeys: String, CodingKey {
            case agentId = "agent_id", version, author, time, message, forceReason = "force_reason", sha256
        }
    }
}
