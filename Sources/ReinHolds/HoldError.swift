/// Why a hold operation failed, with an HTTP status for the API.
public struct HoldError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// The request was malformed (400).
        case badRequest
        /// No valid credentials (401).
        case unauthenticated
        /// The caller may not do this (403): role or separation of duties.
        case forbidden
        /// No such hold (404).
        case notFound
        /// The hold is in a state that forbids it, e.g. approving a denied hold (409).
        case conflict
        /// The store or the collector could not be reached (503).
        case unavailable
        /// The store failed (500).
        case storage
        /// The disk under the store is full (503 `InsufficientStorage`):
        /// nothing changed, and the same request succeeds once space is freed.
        case diskFull
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public var httpStatus: Int {
        switch kind {
        case .badRequest: return 400
        case .unauthenticated: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .conflict: return 409
        case .unavailable, .diskFull: return 503
        case .storage: return 500
        }
    }

    /// The error code in API answers (AWS style).
    public var code: String {
        switch kind {
        case .badRequest: return "InvalidRequest"
        case .unauthenticated, .forbidden: return "AccessDenied"
        case .notFound: return "NoSuchHold"
        case .conflict: return "HoldStateConflict"
        case .unavailable: return "Unavailable"
        case .storage: return "InternalError"
        case .diskFull: return "InsufficientStorage"
        }
    }
}
