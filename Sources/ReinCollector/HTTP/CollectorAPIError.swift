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
    /// Seconds for `Retry-After`, on an answer that passes with time.
    public let retryAfter: Int?

    public init(_ status: HTTPResponseStatus, code: String, message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
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
        // 503, not WebDAV's 507: every client and proxy takes a 503 as "try
        // again later", and the shipper honours its Retry-After.
        case .full: Self(.serviceUnavailable, code: "InsufficientStorage",
                         message: "the collector's disk is full: nothing more is stored until space is freed "
                             + "(rein_collector_store_disk_free_bytes); sidecars keep their records and retry", retryAfter: 30)
        }
    }

    public var response: CollectorResponse {
        var response = CollectorResponse.error(status, code: code, message: message)
        if let retryAfter { response.headers.append(("Retry-After", String(retryAfter))) }
        return response
    }
    public var description: String { "\(status.code) \(code): \(message)" }
}
