import NIOHTTP1

/// One API route: method, path pattern, the roles that may call it, and
/// the handler.
///
/// Why routes are values: the server's table is built from lists of them
/// (sidecars, audit, policies, health), and a later module (holds, for the
/// `approver` role) adds its own list without touching the others.
public struct CollectorRoute: Sendable {
    public typealias Handler = @Sendable (CollectorCall) async throws -> CollectorResponse

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public let method: HTTPMethod
    /// E.g. `/v1/policies/{agent}/versions/{n}`.
    public let pattern: String
    /// The roles that may call it; empty for routes without authentication
    /// (`/healthz`, `/readyz`). A handler may refine further (a sidecar
    /// token and its own agents).
    public let roles: Set<CollectorRole>
    public let handler: Handler
    let segments: [Segment]

    public init(_ method: HTTPMethod, _ pattern: String, roles: Set<CollectorRole>, handler: @escaping Handler) {
        self.method = method
        self.pattern = pattern
        self.roles = roles
        self.handler = handler
        segments = pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    /// The path parameters when `path` (already split and decoded) matches.
    func match(_ path: [String]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let text): guard text == part else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = part
            }
        }
        return parameters
    }
}
