/// Why broker credentials could not be obtained.
///
/// Every error names the provider it came from and says what to do about it.
/// Messages never contain a secret key, session token or web identity token:
/// they are logged and may reach the sidecar's health endpoint. AWS's own
/// error messages are included, because they are what an operator needs.
public struct BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The configuration or environment is incomplete or invalid.
        case configuration
        /// The endpoint could not be reached, or answered too slowly.
        case transport
        /// The endpoint answered with an HTTP error that carried no AWS error code.
        case httpStatus(Int)
        /// STS answered with an AWS error, e.g. `AccessDenied`, `PackedPolicyTooLarge`.
        case sts(code: String)
        /// The endpoint answered 2xx with a body that is not credentials.
        case malformedResponse
        /// The credentials obtained are already expired (or about to be).
        case expired
        /// The task ends too soon for STS's shortest session (900 s).
        case taskTooShort
        /// The task allowlist cannot be expressed as a session policy.
        case sessionPolicy
    }

    /// The provider's name, e.g. `assume_role`, or `broker` for the chain itself.
    public let provider: String
    public let kind: Kind
    public let message: String

    public init(provider: String, kind: Kind, message: String) {
        self.provider = provider
        self.kind = kind
        self.message = message
    }

    /// The STS error code, when STS answered with one.
    public var stsCode: String? {
        if case .sts(let code) = kind { return code }
        return nil
    }

    /// Whether trying again later can help. A task that ends too soon only
    /// gets closer to its end, so the cache stops retrying.
    public var isRetryable: Bool { kind != .taskTooShort }

    public var description: String { "broker credentials (\(provider)): \(message)" }
}

extension BrokerError {
    static func configuration(_ provider: String, _ message: String) -> BrokerError {
        BrokerError(provider: provider, kind: .configuration, message: message)
    }

    static func malformed(_ provider: String, _ message: String) -> BrokerError {
        BrokerError(provider: provider, kind: .malformedResponse, message: message)
    }
}
