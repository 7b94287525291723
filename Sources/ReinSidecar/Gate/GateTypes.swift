import ReinCatalog
import ReinPolicy
import ReinSigV4

/// How a request reached the sidecar; it decides which Host is legitimate.
public enum RequestVia: Sendable, Equatable {
    /// `AWS_ENDPOINT_URL` pointed at the sidecar: origin-form requests.
    case endpoint
    /// Inside a CONNECT tunnel the sidecar terminated: Host must be this name.
    case proxyTLS(host: String)
    /// A plain-http absolute-form request (`GET http://host/path`).
    case proxyPlain

    var auditName: String {
        switch self {
        case .endpoint: return "endpoint"
        case .proxyTLS, .proxyPlain: return "proxy"
        }
    }
}

/// A request head as the listener received it.
public struct AgentRequestHead: Sendable {
    public var method: String
    /// The raw request-target (origin-form, or absolute-form through a proxy).
    public var target: String
    /// Headers in wire order.
    public var headers: [HTTPHeader]
    public var clientAddress: String?
    public var via: RequestVia

    public init(method: String, target: String, headers: [HTTPHeader], clientAddress: String?, via: RequestVia) {
        self.method = method
        self.target = target
        self.headers = headers
        self.clientAddress = clientAddress
        self.via = via
    }

    func firstValue(_ lowercasedName: String) -> String? {
        headers.first { $0.hasName(lowercasedName) }?.value
    }

    /// The declared body length, nil for chunked or unknown.
    var contentLength: Int64? { firstValue("content-length").flatMap { Int64($0) } }
    var isChunked: Bool { firstValue("transfer-encoding")?.lowercased().contains("chunked") ?? false }
    /// True when a body follows the head.
    var hasBody: Bool { isChunked || (contentLength ?? 0) > 0 }
}

/// What the audit record says about the decision, filled as the gate goes.
public struct GateFacts: Sendable {
    public var accessKeyId: String?
    public var service: String?
    public var region: String?
    public var operation: String?
    public var grants: [ActionResources] = []
    public var decision: String = "error"
    public var statementId: String?
    public var reason: String?
    public var mode: PolicyMode?
    public var errorCode: String?
    public var upstreamHost: String?
    public var brokerSource: String?
    public var verifyNanos: UInt64 = 0
    public var decideNanos: UInt64 = 0
    /// For held calls: the hold, who decided, the scoped grant used, and how long the call waited.
    public var holdId: String?
    public var approver: String?
    public var grantId: String?
    public var holdNanos: UInt64?
}

/// An answer the sidecar gives instead of forwarding.
public struct Rejection: Sendable {
    public let response: AWSErrorResponse
}

/// How the request body travels to the upstream.
public enum BodyPlan: Sendable {
    /// No body.
    case empty
    /// Read and checked already (it had to be, to verify or decide).
    case buffered([UInt8])
    /// Streamed through a ``BodyProcessor``; `length` nil means chunked upstream.
    case stream(BodyProcessor, length: Int64?)
}

/// A verified, allowed, re-signed request, ready for the upstream engine.
public struct ForwardPlan: Sendable {
    public let method: String
    public let url: String
    /// Exactly what goes on the wire to AWS, in order.
    public let headers: [(name: String, value: String)]
    public var body: BodyPlan
    public let upstreamHost: String
}

/// The gate's answer for one request.
public enum GateOutcome: Sendable {
    case reject(Rejection, GateFacts)
    /// Read the whole body (at most `limit` bytes), then call the gate again.
    case needsBody(limit: Int, GateFacts)
    case forward(ForwardPlan, GateFacts)
    /// The policy says a human decides; the ``HoldGate`` answers later.
    case hold(HoldRequest, GateFacts)
}
