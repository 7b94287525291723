import NIOHTTP1
import ReinStore

/// An answer other than success, thrown by a route handler.
///
/// Why an error: handlers read as the happy path, and the router turns
/// every failure into the documented `{"code","message"}` body in one place.
public struct CollectorAPIError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponseStatus
    public let code: String
    public let message: String

    public init(_ status: HTTPResponseStatus, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> Self { Self(.badRequest, code: "BadRequest", message: message) }
    public static func notFound(_ message: String) -> Self { Self(.notFound, code: "NotFound", message: message) }
    public static func conflict(_ message: String) -> Self { Self(.conflict, code: "Conflict", message: message) }
    public static func tooLarge(_ message: String) -> Self { Self(.payloadTooLarge, code: "TooLarge", message: message) }

    /// The HTTP answer for a store failure.
    public static func from(_ error: CollectorStoreError) -> Self {
        switch error {
        case .notFound(let m): .notFound(m)
        case .conflict(let m): .conflict(m)
        case .invalid(let m): .badRequest(m)
        case .database: Self(.internalServerError, code: "InternalError", message: "the collector's database failed; try again later")
        case .unavailable: Self(.serviceUnavailable, code: "Unavailable",
                                message: "the collector cannot store anything durably until it is restarted (see /readyz); try again later")
        }
    }

    public var response: CollectorResponse { .error(status, code: code, message: message) }
    public var description: String { "\(status.code) \(code): \(message)" }
}
