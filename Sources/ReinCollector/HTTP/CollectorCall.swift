import Foundation
import Logging

/// One authorised call to a route: the request, who made it, the path
/// parameters and the collector's services.
public struct CollectorCall: Sendable {
    public let request: CollectorRequest
    /// Nil only on routes without authentication.
    public let principal: CollectorPrincipal?
    public let parameters: [String: String]
    public let route: CollectorRoute
    public let services: CollectorServices

    public func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// Refuses the call with 403: logged, and recorded as an `access-denied`
    /// event in the collector's own audit chain before the answer goes out.
    public func deny(_ reason: String, agentId: String? = nil) async -> CollectorResponse {
        await services.refuse(request: request, route: route, principal: principal, status: .forbidden,
                              reason: reason, agentId: agentId)
    }

    /// The caller's name for audit events.
    public var actor: String { principal?.name ?? "(anonymous)" }

    /// Decodes the JSON body, answering 400 with the reason when it does not fit.
    public func decodeBody<T: Decodable>(_ type: T.Type) throws -> T {
        guard request.body.count <= services.configuration.maxRequestBytes else {
            throw CollectorAPIError.tooLarge("the request body is larger than \(services.configuration.maxRequestBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch let DecodingError.keyNotFound(key, _) {
            throw CollectorAPIError.badRequest("the JSON body needs \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw CollectorAPIError.badRequest("\"\(path)\" has the wrong type: \(context.debugDescription)")
        } catch {
            throw CollectorAPIError.badRequest("the body is not the JSON this route takes: \(error)")
        }
    }
}
