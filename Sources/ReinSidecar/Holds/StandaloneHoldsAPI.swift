import Foundation
import Logging
import NIOHTTP1
import ReinHolds

/// A standalone sidecar's holds API on its admin listener: the same
/// ``HoldAPI`` the collector serves, authenticated with `holds.tokens`.
///
/// Why the admin listener: it already binds loopback by default and is the
/// sidecar's operator surface; an agent reaches only the agent listener,
/// and its credentials are not tokens here, so it can never approve.
struct StandaloneHoldsAPI: Sendable {
    let api: HoldAPI
    let tokens: HoldTokenBook
    let logger: Logger

    /// The answer for a `/v1/holds…` or `/v1/grants/match` request; nil for other paths.
    func respond(_ head: HTTPRequestHead, body: [UInt8]) async -> SimpleHTTPHandler.Response? {
        guard let components = URLComponents(string: head.uri) else { return nil }
        let segments = components.percentEncodedPath.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        guard segments.first == "v1" else { return nil }
        let path = Array(segments.dropFirst())
        guard HoldAPI.handles(path) else { return nil }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let actor = tokens.actor(authorization: head.headers.first(name: "authorization"))
        let answer = await api.handle(HoldAPI.Request(method: head.method.rawValue, path: path, query: query, body: body), actor: actor)
        if answer.status == 401 || answer.status == 403 {
            logger.notice("holds API access denied", metadata: [
                "token.name": "\(actor?.name ?? "(no valid token)")", "route": "\(head.method.rawValue) /v1/\(path.joined(separator: "/"))",
                "status": "\(answer.status)",
            ])
        }
        var response = SimpleHTTPHandler.Response(status: HTTPResponseStatus(statusCode: answer.status), contentType: "application/json",
                                                  body: answer.body)
        if let seconds = answer.retryAfter { response.extraHeaders.append(("Retry-After", String(seconds))) }
        return response
    }
}
