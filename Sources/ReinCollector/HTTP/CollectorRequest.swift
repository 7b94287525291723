import Foundation
import NIOHTTP1

/// One complete HTTP request as the route handlers see it.
public struct CollectorRequest: Sendable {
    public let method: HTTPMethod
    /// The path without the query string, percent-decoded per segment by the router.
    public let path: String
    /// Query parameters (the last value wins for a repeated name).
    public let query: [String: String]
    public let headers: HTTPHeaders
    public let body: [UInt8]
    /// The peer's IP address, for audit events.
    public let remoteAddress: String?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8], remoteAddress: String?) {
        self.method = method
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = Self.parseQuery(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = [:]
        }
    }

    public func header(_ name: String) -> String? { headers.first(name: name) }

    static func parseQuery(_ text: Substring) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            out[name] = value
        }
        return out
    }

    /// Form-style percent decoding (`+` is a space); undecodable text is kept as is.
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
