import Foundation
import ReinCrypto

/// A standalone sidecar's approver and auditor tokens (`holds.tokens`),
/// stored as SHA-256 digests only, as the collector stores its own.
///
/// Why compare every entry in constant time: the time an authentication
/// takes must not depend on which token, if any, matched.
public struct HoldTokenBook: Sendable {
    public struct Entry: Sendable, Equatable {
        public enum Role: String, Sendable, CaseIterable {
            case approver, auditor
        }

        public var name: String
        public var roles: Set<Role>
        /// Hex SHA-256 of the token (`rein collector hash-token` prints it).
        public var sha256: String
        public var ownsAgents: Set<String>

        public init(name: String, roles: Set<Role>, sha256: String, ownsAgents: Set<String> = []) {
            self.name = name
            self.roles = roles
            self.sha256 = sha256.lowercased()
            self.ownsAgents = ownsAgents
        }
    }

    public let entries: [Entry]
    private let digests: [(Digest, Entry)]

    public init(_ entries: [Entry]) {
        self.entries = entries
        digests = entries.compactMap { e in Hex.decode(e.sha256).flatMap { Digest(bytes: $0) }.map { ($0, e) } }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The actor for an `Authorization: Bearer …` value; nil when it matches no token.
    public func actor(authorization: String?) -> HoldActor? {
        guard let authorization else { return nil }
        let trimmed = authorization.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { return nil }
        let presented = SHA256.hash(token)
        var match: Entry?
        for (digest, entry) in digests where ConstantTime.equals(presented, digest) { match = entry }
        guard let e = match else { return nil }
        var capabilities: Set<HoldActor.Capability> = [.read]
        if e.roles.contains(.approver) { capabilities.insert(.decide) }
        return HoldActor(name: e.name, capabilities: capabilities, ownsAgents: e.ownsAgents)
    }
}
