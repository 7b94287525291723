import ReinSigV4

/// What the catalog needs to know about a request: its head as received,
/// the verified SigV4 scope, and the body when (and only when) it was
/// buffered. Streaming bodies such as S3 object data are never buffered.
public struct CatalogRequest: Sendable {
    public enum Body: Sendable {
        /// The whole body, buffered because its members may name resources.
        case bytes([UInt8])
        /// The body was not read (streaming upload, or larger than the
        /// inspection limit). An operation that needs it is unknown.
        case notBuffered
    }

    public let method: String
    /// The raw, still percent-encoded path.
    public let path: String
    /// The raw query string without `?`.
    public let query: String?
    public let headers: [HTTPHeader]
    public var body: Body
    /// The verified credential scope: its service and region are trusted.
    public var scope: CredentialScope

    public init(method: String, path: String, query: String?, headers: [HTTPHeader], body: Body, scope: CredentialScope) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.scope = scope
        queryItems = QueryParameter.parse(query).map { (URIDecoding.decode($0.rawKey), URIDecoding.decode($0.rawValue)) }
        host = Self.hostWithoutPort(headers.first { $0.hasName("host") }?.value)
    }

    public init(_ request: SignableRequest, body: Body, scope: CredentialScope) {
        self.init(method: request.method, path: request.path, query: request.query, headers: request.headers,
                  body: body, scope: scope)
    }

    /// Values of a header, by lower-case name.
    func headerValues(_ name: String) -> [String] {
        headers.compactMap { $0.hasName(name) ? $0.value : nil }
    }

    /// The Host header without any port, lower-cased.
    let host: String?

    /// The decoded query parameters, in order; a bare `key` has an empty value.
    let queryItems: [(key: String, value: String)]

    static func hostWithoutPort(_ raw: String?) -> String? {
        guard let raw else { return nil }
        if raw.hasPrefix("[") { return raw } // IPv6 literal
        return raw.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() }
    }
}
