/// Why a call to the collector failed.
///
/// Why typed: the shipper retries `unreachable` and `server` with backoff,
/// gives up on `rejected` (the batch itself is wrong, so retrying cannot
/// help and the spool keeps it for an operator), and the CLI prints
/// `message`, which never contains the bearer token.
public struct CollectorClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No answer: connection refused, timeout, TLS failure.
        case unreachable
        /// 401/403: the token is missing, unknown or lacks the role.
        case accessDenied
        /// 4xx other than auth: the request is wrong and retrying will not help.
        case rejected
        /// 404.
        case notFound
        /// 5xx: try again later.
        case server
        /// An answer that is not what the API documents.
        case protocolError
        /// A 200 that does not acknowledge what was sent: a batch it does
        /// not name or cover, a registration it does not accept (a proxy, a
        /// cache, another sidecar's answer).
        case notAcknowledged
        /// The client's own settings are wrong (the URL, the token or its
        /// file): nothing was sent, so no collector refused anything.
        case configuration
    }

    public let kind: Kind
    public let status: Int?
    public let message: String
    /// The answer's body, when there was one (e.g. a policy push's lint findings).
    public let body: [UInt8]
    /// Seconds the collector asked the client to wait (`Retry-After` on a 429 or 503).
    public let retryAfter: Double?

    public init(kind: Kind, status: Int? = nil, message: String, body: [UInt8] = [], retryAfter: Double? = nil) {
        self.kind = kind
        self.status = status
        self.message = message
        self.body = body
        self.retryAfter = retryAfter
    }

    public var retryable: Bool { kind == .unreachable || kind == .server }

    /// What happened, in words a person reads in a terminal or a log line.
    public var description: String {
        let what: String
        switch kind {
        case .configuration: return message
        case .unreachable: what = "collector unreachable"
        case .accessDenied: what = "collector denied access"
        case .rejected: what = "collector rejected the request"
        case .notFound: what = "collector: not found"
        case .server: what = "collector failed"
        case .protocolError: what = "collector answered unexpectedly"
        case .notAcknowledged: what = "collector did not acknowledge"
        }
        return "\(what)\(status.map { " (HTTP \($0))" } ?? ""): \(message)"
    }
}
