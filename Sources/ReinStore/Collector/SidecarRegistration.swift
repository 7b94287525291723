/// A sidecar announcing itself and its checkpoint key (`POST /v1/sidecars/register`).
///
/// Why pin the key on first registration: checkpoints are only worth
/// something if the key that signs them cannot be swapped later by whoever
/// controls the sidecar; a different key afterwards is an integrity finding.
public struct SidecarRegistration: Sendable, Equatable {
    public var sidecarId: String
    public var agentId: String
    public var taskId: String?
    /// The Ed25519 public key, 64 lower-case hex digits.
    public var publicKey: String
    public var version: String?
    /// The token name that registered it.
    public var registeredBy: String

    public init(sidecarId: String, agentId: String, taskId: String?, publicKey: String, version: String?, registeredBy: String) {
        self.sidecarId = sidecarId
        self.agentId = agentId
        self.taskId = taskId
        self.publicKey = publicKey
        self.version = version
        self.registeredBy = registeredBy
    }

    /// How a registration compared with the pinned key.
    public enum KeyStatus: String, Sendable, Equatable {
        /// First registration: the key is now pinned.
        case registered
        /// The same key as pinned: nothing changed.
        case matches
        /// A different key: refused, and an `unknown-key` finding stored.
        case mismatch
    }

    public struct Outcome: Sendable, Equatable {
        public let status: KeyStatus
        /// The `unknown-key` finding of a mismatch.
        public let finding: StoredFinding?
        /// Set when the id is bound to another agent: nothing was written.
        public let boundAgent: String?

        public init(status: KeyStatus, finding: StoredFinding?, boundAgent: String? = nil) {
            self.status = status
            self.finding = finding
            self.boundAgent = boundAgent
        }
    }
}
