#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An http(s) endpoint split into the parts the broker checks and signs.
///
/// Parsed by hand rather than with URLComponents so that the Host header
/// Rein signs is byte for byte the authority written in the configuration,
/// and so that the host check sees exactly what libcurl will connect to.
public struct EndpointURL: Sendable, Equatable {
    public let scheme: String
    /// `host[:port]` as written (IPv6 literals keep their brackets): the Host header.
    public let authority: String
    /// The host without brackets or port, lower-cased.
    public let host: String
    /// The path, `/` when empty; never contains a query.
    public let path: String
    public let url: String

    public init?(_ text: String) {
        let lower = text.lowercased()
        guard let schemeEnd = lower.range(of: "://") else { return nil }
        let scheme = String(lower[..<schemeEnd.lowerBound])
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = String(rest[..<authorityEnd])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let tail = rest[authorityEnd...]
        guard !tail.contains("?"), !tail.contains("#") else { return nil }
        var host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || (after.hasPrefix(":") && after.dropFirst().allSatisfy(\.isNumber)) else { return nil }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, !parts[0].isEmpty else { return nil }
            if parts.count == 2 { guard !parts[1].isEmpty, parts[1].allSatisfy(\.isNumber) else { return nil } }
            host = parts[0]
        }
        self.scheme = scheme
        self.authority = authority
        self.host = host.lowercased()
        self.path = tail.isEmpty ? "/" : String(tail)
        self.url = text
    }

    /// IPv4 address bytes, if the host is a dotted-quad literal.
    var ipv4: [UInt8]? {
        var addr = in_addr()
        guard inet_pton(AF_INET, host, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    /// IPv6 address bytes, if the host is an IPv6 literal.
    var ipv6: [UInt8]? {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, host, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    /// 127.0.0.0/8 or ::1: traffic that never leaves the machine.
    public var isLoopback: Bool {
        if let v4 = ipv4 { return v4[0] == 127 }
        if let v6 = ipv6 { return v6 == [UInt8](repeating: 0, count: 15) + [1] }
        return false
    }

    /// Whether credentials may travel over this endpoint: https anywhere,
    /// plain http only to the loopback interface (tests, a local STS stand-in).
    public var protectsCredentials: Bool { scheme == "https" || isLoopback }
}
