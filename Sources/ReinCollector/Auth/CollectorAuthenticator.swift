import Foundation
import ReinCrypto

/// Maps a bearer token to the configured token it matches.
///
/// Why hash then compare every entry in constant time: the configuration
/// holds only SHA-256 digests, and comparing the presented token's digest
/// with every configured digest (no early exit, ``ConstantTime``) keeps the
/// time taken independent of which token, if any, matched.
public struct CollectorAuthenticator: Sendable {
    public enum Outcome: Sendable, Equatable {
        case authenticated(CollectorPrincipal)
        /// No `Authorization: Bearer …` header.
        case missing
        /// A bearer token that matches no configured token.
        case unknown
    }

    private let entries: [(digest: Digest, token: CollectorToken)]

    public init(tokens: [CollectorToken]) {
        entries = tokens.compactMap { token in
            Hex.decode(token.sha256).flatMap { Digest(bytes: $0) }.map { ($0, token) }
        }
    }

    /// - Parameter authorization: the `Authorization` header value, if any.
    public func authenticate(authorization: String?) -> Outcome {
        guard let authorization else { return .missing }
        let trimmed = authorization.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return .missing }
        let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { return .missing }
        let presented = SHA256.hash(token)
        var match: CollectorToken?
        for entry in entries where ConstantTime.equals(presented, entry.digest) {
            match = entry.token
        }
        return match.map { .authenticated(CollectorPrincipal($0)) } ?? .unknown
    }

    /// The hex SHA-256 that configuration stores for `token`.
    public static func hash(token: String) -> String { SHA256.hash(token).hex }
}
