import Foundation
import Logging
import NIOHTTP1
import ReinStore

/// The route table and the checks every request passes through: route
/// lookup, bearer-token authentication, the route's roles; then the handler.
///
/// Why authorisation lives here: a refusal has to be answered the same way
/// everywhere (`401`/`403` with `AccessDenied`) and recorded as an
/// `access-denied` event every time; doing it once means a new route cannot
/// forget to.
public struct CollectorRouter: Sendable {
    public private(set) var routes: [CollectorRoute] = []

    public init(routes: [CollectorRoute] = []) {
        self.routes = routes
    }

    /// Every route of docs/collector-api.md (without holds, which plug in with ``add(_:)``).
    public static func standard() -> CollectorRouter {
        CollectorRouter(routes: HealthRoutes.routes + SidecarRoutes.routes + AuditRoutes.routes + PolicyRoutes.routes + HoldRoutes.routes + ReportRoutes.routes
                        + MetricsRoutes.routes)
    }

    /// Adds a route; a route for the same method and pattern replaces the old one.
    public mutating func add(_ route: CollectorRoute) {
        routes.removeAll { $0.method == route.method && $0.pattern == route.pattern }
        routes.append(route)
    }

    /// The routed segments of a request path (empty segments dropped, percent-decoded).
    static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
    }

    /// Whether a request's body is worth reading for `principal`: there is a
    /// route for it and the token has one of its roles. Otherwise the answer
    /// (404, 405, 403) comes from the head, and no memory goes to the body.
    func admitsBody(method: HTTPMethod, path: String, principal: CollectorPrincipal) -> Bool {
        let segments = Self.segments(path)
        guard let route = routes.first(where: { $0.method == method && $0.match(segments) != nil }) else { return false }
        return route.roles.isEmpty || !principal.roles.isDisjoint(with: route.roles)
    }

    /// Answers `request` and counts the answer by route pattern (``CollectorMetrics``).
    public func handle(_ request: CollectorRequest, services: CollectorServices) async -> CollectorResponse {
        let (response, pattern) = await route(request, services: services)
        services.metrics.request(route: pattern ?? "unmatched", method: request.method.rawValue, status: response.status.code)
        return response
    }

    private func route(_ request: CollectorRequest, services: CollectorServices) async -> (CollectorResponse, String?) {
        let path = Self.segments(request.path)
        var allowed: [String] = []
        var found: (CollectorRoute, [String: String])?
        for route in routes {
            guard let parameters = route.match(path) else { continue }
            allowed.append(route.method.rawValue)
            if route.method == request.method {
                found = (route, parameters)
                break
            }
        }
        guard let (route, parameters) = found else {
            guard !allowed.isEmpty else { return (.notFound("no route \(request.method.rawValue) \(request.path)"), nil) }
            var refused = CollectorResponse.error(.methodNotAllowed, code: "MethodNotAllowed",
                                                  message: "\(request.method.rawValue) is not allowed on \(request.path)")
            // RFC 9110: a 405 says which methods the resource does take.
            refused.headers.append(("Allow", Set(allowed).sorted().joined(separator: ", ")))
            return (refused, nil)
        }
        var principal: CollectorPrincipal?
        if !route.roles.isEmpty {
            switch services.authenticator.authenticate(authorization: request.header("Authorization")) {
            case .missing:
                return (await services.refuse(request: request, route: route, principal: nil, status: .unauthorized,
                                             reason: "no bearer token"), route.pattern)
            case .unknown:
                return (await services.refuse(request: request, route: route, principal: nil, status: .unauthorized,
                                             reason: "the bearer token matches no configured token"), route.pattern)
            case .authenticated(let p):
                guard !p.roles.isDisjoint(with: route.roles) else {
                    let needed = route.roles.map(\.rawValue).sorted().joined(separator: " or ")
                    return (await services.refuse(request: request, route: route, principal: p, status: .forbidden,
                                                 reason: "token \(p.name) lacks the role \(needed) for \(route.method.rawValue) \(route.pattern)"), route.pattern)
                }
                principal = p
            }
        }
        let call = CollectorCall(request: request, principal: principal, parameters: parameters, route: route, services: services)
        do {
            // Reads count against the caller's share of the read slots (ReadGate).
            return (try await ReadGate.$holder.withValue(call.actor) { try await route.handler(call) }, route.pattern)
        } catch let error as CollectorAPIError {
            return (error.response, route.pattern)
        } catch let error as CollectorStoreError {
            switch error {
            case .database, .unavailable, .full:
                services.logger.error("collector store failed", metadata: ["route": "\(route.pattern)", "error": "\(error)"])
            default:
                break
            }
            return (CollectorAPIError.from(error).response, route.pattern)
        } catch {
            services.logger.error("request failed", metadata: ["route": "\(route.pattern)", "error": "\(error)"])
            return (.error(.internalServerError, code: "InternalError", message: "the collector failed to answer; see its log"), route.pattern)
        }
    }
}
