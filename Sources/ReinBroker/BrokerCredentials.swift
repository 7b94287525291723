import Foundation
import ReinSigV4

/// Credentials the sidecar signs forwarded calls with, plus when they stop
/// working and where they came from (for logs and the health endpoint).
///
/// The description redacts the secret and the token, like ``AWSCredentials``.
public struct BrokerCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let credentials: AWSCredentials
    /// When AWS stops accepting them; nil for long-term keys.
    public let expiration: Date?
    /// The name of the provider that produced them, e.g. `assume_role`.
    public let source: String

    public init(credentials: AWSCredentials, expiration: Date?, source: String) {
        self.credentials = credentials
        self.expiration = expiration
        self.source = source
    }

    public var accessKeyId: String { credentials.accessKeyId }

    /// Whether they are still usable at `now`, keeping `margin` seconds in
    /// hand so that a request signed now does not arrive after expiry.
    public func isValid(at now: Date, margin: TimeInterval = 0) -> Bool {
        guard let expiration else { return true }
        return now.addingTimeInterval(margin) < expiration
    }

    public var description: String {
        "BrokerCredentials(source: \(source), accessKeyId: \(credentials.accessKeyId), secretAccessKey: <redacted>, "
            + "sessionToken: \(credentials.sessionToken == nil ? "none" : "<redacted>"), "
            + "expiration: \(expiration.map(ISO8601.format) ?? "never"))"
    }

    public var debugDescription: String { description }
}

/// ISO 8601 timestamps as STS, ECS and IMDS write them, with or without
/// fractional seconds (moto adds microseconds; AWS does not).
enum ISO8601 {
    static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: trimmed) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: trimmed) { return date }
        // Microseconds (six digits) are more than the formatter accepts on
        // every platform: drop the fraction, keeping the zone.
        if let dot = trimmed.firstIndex(of: ".") {
            var end = trimmed.index(after: dot)
            while end < trimmed.endIndex, trimmed[end].isNumber { end = trimmed.index(after: end) }
            return plain.date(from: String(trimmed[..<dot]) + String(trimmed[end...]))
        }
        return nil
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
