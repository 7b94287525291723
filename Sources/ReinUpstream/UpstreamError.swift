import CReinCurl

/// Why an upstream exchange failed. HTTP error statuses are not errors: a 403 from AWS
/// arrives through ``UpstreamDelegate/didReceiveHead(_:status:headers:)`` like a 200.
///
/// The kind is what the sidecar decides on (for example 504 for ``Kind/timeout``, 502
/// for ``Kind/connect``, nothing at all for ``Kind/cancelled`` because the agent left).
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        /// DNS resolution or the TCP connect failed.
        case connect
        /// The TLS handshake or certificate verification failed.
        case tls
        /// The connect, idle or total timeout expired.
        case timeout
        /// Sending the request (or reading its body from the caller) failed.
        case send
        /// Receiving the response failed or it was malformed.
        case receive
        /// ``UpstreamExchange/cancel()`` was called.
        case cancelled
        /// The engine was shut down, or not started, before the exchange finished.
        case shutdown
        /// The request was refused before anything was sent (scheme, headers, framing).
        case invalidRequest
        /// ``UpstreamConfiguration`` failed validation in ``UpstreamEngine/start()``.
        case invalidConfiguration
        /// libcurl could not allocate or initialise something.
        case `internal`

        public var description: String {
            switch self {
            case .connect: "connect"
            case .tls: "tls"
            case .timeout: "timeout"
            case .send: "send"
            case .receive: "receive"
            case .cancelled: "cancelled"
            case .shutdown: "shutdown"
            case .invalidRequest: "invalid request"
            case .invalidConfiguration: "invalid configuration"
            case .internal: "internal"
            }
        }
    }

    public let kind: Kind
    /// libcurl's CURLcode, or 0 when the failure did not come from libcurl.
    public let curlCode: Int
    /// The upstream host (no port), so logs name the endpoint without the full URL,
    /// whose query string may carry a presigned signature.
    public let host: String
    public let message: String

    public init(kind: Kind, curlCode: Int = 0, host: String, message: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.host = host
        self.message = message
    }

    public var description: String {
        let code = curlCode == 0 ? "" : " (curl \(curlCode))"
        let target = host.isEmpty ? "upstream" : "upstream \(host)"
        return "\(target): \(kind) error\(code): \(message)"
    }

    /// Builds the error for a failed transfer; `detail` is CURLOPT_ERRORBUFFER's text,
    /// which names the address and stage, unlike the generic curl_easy_strerror text.
    init(curlCode code: CURLcode, host: String, detail: String) {
        let generic = String(cString: curl_easy_strerror(code))
        self.init(kind: Self.kind(for: code), curlCode: Int(code.rawValue), host: host, message: detail.isEmpty ? generic : detail)
    }

    static func kind(for code: CURLcode) -> Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return .connect
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,
             CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED:
            return .tls
        case CURLE_SEND_ERROR, CURLE_READ_ERROR, CURLE_UPLOAD_FAILED, CURLE_SEND_FAIL_REWIND,
             CURLE_ABORTED_BY_CALLBACK:
            return .send
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT,
             CURLE_NOT_BUILT_IN, CURLE_UNKNOWN_OPTION:
            return .invalidRequest
        case CURLE_OUT_OF_MEMORY, CURLE_FAILED_INIT:
            return .internal
        default:
            // RECV_ERROR, GOT_NOTHING, PARTIAL_FILE, WEIRD_SERVER_REPLY, WRITE_ERROR, ...
            return .receive
        }
    }
}
