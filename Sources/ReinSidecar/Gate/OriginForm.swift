import ReinSigV4
import ReinUpstream

/// Why a request's target or Host cannot be accepted.
struct OriginFormProblem: Error, Sendable {
    let message: String
}

/// Turns what the listener received into the origin-form request the agent
/// signed, refusing any Host that disagrees with how the request arrived.
///
/// Why: an agent behind a proxy names its target twice (CONNECT or the
/// absolute URI, and the Host header). If the two disagree, one of them is
/// a lie, and the upstream must never be chosen from a lie.
enum OriginForm {
    static func make(_ head: AgentRequestHead) -> Result<SignableRequest, OriginFormProblem> {
        let hosts = head.headers.filter { $0.hasName("host") }
        guard hosts.count == 1, let host = hosts.first?.value, !host.isEmpty else {
            return .failure(OriginFormProblem(message: "the request must carry exactly one Host header"))
        }
        var target = head.target
        switch head.via {
        case .endpoint:
            guard target.hasPrefix("/") else {
                return .failure(OriginFormProblem(message: "endpoint mode takes origin-form request targets (/path?query)"))
            }
        case .proxyTLS(let expected):
            guard target.hasPrefix("/") else {
                return .failure(OriginFormProblem(message: "requests inside a CONNECT tunnel must be origin-form"))
            }
            guard sameHost(host, expected, defaultPort: 443) else {
                return .failure(OriginFormProblem(message: "Host \(host) does not match the CONNECT target \(expected)"))
            }
        case .proxyPlain:
            guard target.lowercased().hasPrefix("http://") else {
                return .failure(OriginFormProblem(message: "a proxy request must use an absolute http:// URI (use CONNECT for https)"))
            }
            let rest = target.dropFirst("http://".count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            let path = rest.dropFirst(authority.count)
            guard sameHost(String(authority), host, defaultPort: 80) else {
                // Without any user-info: it may carry a password or token.
                return .failure(OriginFormProblem(message: "Host \(host) does not match the request URI's host \(URLText.redacted(String(authority)))"))
            }
            target = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
        }
        return .success(SignableRequest(method: head.method, target: target, headers: head.headers))
    }

    /// Compares `host[:port]` forms case-insensitively, treating a missing port as the default.
    static func sameHost(_ a: String, _ b: String, defaultPort: Int) -> Bool {
        func split(_ s: String) -> (String, Int) {
            let lower = s.lowercased()
            if let colon = lower.lastIndex(of: ":"), !lower.hasSuffix("]"), let port = Int(lower[lower.index(after: colon)...]) {
                return (String(lower[..<colon]), port)
            }
            return (lower, defaultPort)
        }
        return split(a) == split(b)
    }
}
