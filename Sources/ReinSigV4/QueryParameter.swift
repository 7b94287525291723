/// One `key=value` piece of a raw query string, still percent-encoded.
public struct QueryParameter: Sendable, Equatable {
    public var rawKey: Substring
    public var rawValue: Substring
    /// Whether the piece had an `=`; `uploads` and `uploads=` sign alike,
    /// but re-serialising keeps what the client sent.
    public var hadEquals: Bool = true

    /// Splits on `&` and then on the first `=`, as botocore and AWS do.
    /// Repeated keys and empty values are kept.
    public static func parse(_ query: String?) -> [QueryParameter] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            if let eq = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                return QueryParameter(rawKey: pair[..<eq], rawValue: pair[pair.utf8.index(after: eq)...])
            }
            return QueryParameter(rawKey: pair, rawValue: "", hadEquals: false)
        }
    }

    /// The key with percent-escapes decoded (as UTF-8, lossy).
    public var key: String { URIEncoding.decode(rawKey) }
    /// The value with percent-escapes decoded (as UTF-8, lossy).
    public var value: String { URIEncoding.decode(rawValue) }
}
