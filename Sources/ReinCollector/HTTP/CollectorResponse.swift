import Foundation
import NIOHTTP1

/// One complete HTTP response from a route handler.
public struct CollectorResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// A JSON body from an `Encodable` value (keys sorted, slashes unescaped).
    public static func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok, headers: [(String, String)] = []) -> CollectorResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(value)
            return CollectorResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(data))
        } catch {
            return .error(.internalServerError, code: "InternalError", message: "could not encode the answer: \(error)")
        }
    }

    /// The documented error shape: `{"code":"…","message":"…"}` (plus `findings` for `PolicyRejected`).
    public static func error(_ status: HTTPResponseStatus, code: String, message: String) -> CollectorResponse {
        json(ErrorBody(code: code, message: message, findings: nil), status: status)
    }

    public static func badRequest(_ message: String) -> CollectorResponse { error(.badRequest, code: "BadRequest", message: message) }
    public static func notFound(_ message: String) -> CollectorResponse { error(.notFound, code: "NotFound", message: message) }
    public static func conflict(_ message: String) -> CollectorResponse { error(.conflict, code: "Conflict", message: message) }
    public static func tooLarge(_ message: String) -> CollectorResponse { error(.payloadTooLarge, code: "TooLarge", message: message) }
    public static func unavailable(_ message: String) -> CollectorResponse {
        error(.serviceUnavailable, code: "Unavailable", message: message)
    }

    /// The error body; `findings` only for `PolicyRejected`.
    struct ErrorBody: Encodable {
        let code: String
        let message: String
        let findings: [PolicyFindingBody]?
    }
}
