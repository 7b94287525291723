/// The parts of an HTTP request that SigV4 covers, exactly as they appeared
/// on the wire: the path and query stay percent-encoded as the client sent
/// them, and header order and repetition are preserved.
public struct SignableRequest: Sendable, Equatable {
    public var method: String
    /// The raw, still percent-encoded path, e.g. `/my-bucket/a%20b`.
    public var path: String
    /// The raw query without its `?`; nil when the target had no `?`.
    public var query: String?
    public var headers: [HTTPHeader]

    public init(method: String, path: String, query: String?, headers: [HTTPHeader]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// Splits an origin-form request target (`/path?query`) at its first `?`.
    public init(method: String, target: String, headers: [HTTPHeader]) {
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.init(method: method, path: String(target[..<q]),
                      query: String(target[target.utf8.index(after: q)...]), headers: headers)
        } else {
            self.init(method: method, path: target, query: nil, headers: headers)
        }
    }

    /// The request target as it goes on the request line.
    public var target: String {
        guard let query else { return path }
        return path + "?" + query
    }

    /// Every value of a header, in arrival order. `name` must be lower case.
    public func values(_ name: String) -> [String] {
        headers.compactMap { $0.hasName(name) ? $0.value : nil }
    }

    /// The first value of a header. `name` must be lower case.
    public func firstValue(_ name: String) -> String? {
        headers.first(where: { $0.hasName(name) })?.value
    }

    /// The only value of a header: nil when absent, `.multiple` when repeated.
    func singleValue(_ name: String) -> SingleValue {
        var found: String?
        for h in headers where h.hasName(name) {
            if found != nil { return .multiple }
            found = h.value
        }
        return found.map { .one($0) } ?? .absent
    }

    enum SingleValue {
        case absent, one(String), multiple
    }

    public func count(of name: String) -> Int {
        headers.reduce(0) { $0 + ($1.hasName(name) ? 1 : 0) }
    }

    /// Removes every header with this (lower-case) name.
    public mutating func removeHeader(_ name: String) {
        headers.removeAll { $0.hasName(name) }
    }

    /// Replaces every header with this name by one header, appended last
    /// (where botocore puts a header it sets).
    public mutating func setHeader(_ name: String, _ value: String) {
        setHeader(HTTPHeader(name, value))
    }

    mutating func setHeader(_ header: HTTPHeader) {
        if headers.contains(where: { $0.hasName(header.lowercasedName) }) {
            headers.removeAll { $0.hasName(header.lowercasedName) }
        }
        headers.append(header)
    }

    /// The query split into raw `key=value` parameters.
    public var queryParameters: [QueryParameter] {
        QueryParameter.parse(query)
    }
}
