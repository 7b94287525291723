import Foundation
import ReinAudit
import ReinSigV4

/// Keeps the agent credentials a sidecar has issued in its state directory
/// (`agent-credentials.json`, mode 0600), so that a restarted sidecar still
/// accepts the sets its agent holds.
///
/// Why: SDKs refresh container credentials only shortly before their
/// `Expiration`, never because a call was refused. Without this file a
/// sidecar restarted by its liveness probe, a crash or a rolling update
/// knew none of the agent's keys, and every call failed with
/// `InvalidClientTokenId` for up to 45 minutes (the default 1 h lifetime
/// minus the SDKs' refresh margin). The sets are worth nothing to AWS
/// (random keys only this sidecar knows), so keeping them beside the audit
/// signing key, which matters more, adds no new kind of exposure.
///
/// What may go wrong is never a reason to refuse the start: a damaged or
/// unreadable file, or one others may read, is set aside and the agent
/// fetches a new set (as before this file existed); the caller logs why.
public struct AgentCredentialFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The file's contents.
    public struct Contents: Sendable, Equatable {
        public var sets: [AgentCredentialIssuer.Issued]
        /// The access key id of the set handed out last.
        public var current: String?

        public init(sets: [AgentCredentialIssuer.Issued], current: String?) {
            self.sets = sets
            self.current = current
        }
    }

    /// Why the file's contents were not used.
    public enum Problem: Error, Sendable, CustomStringConvertible {
        /// Readable by its group or others: its keys may be known elsewhere.
        case shared(SecretFile.Problem)
        case unreadable(SecretFile.Problem)
        case malformed(String)

        public var description: String {
            switch self {
            case .shared(let problem): "\(problem); its credentials were discarded, and the agent gets new ones"
            case .unreadable(let problem): "\(problem)"
            case .malformed(let reason): "not a Rein agent credentials file (\(reason))"
            }
        }
    }

    /// The sets still valid at `now` (empty when there is no file).
    public func load(now: Int64) throws(Problem) -> Contents {
        let bytes: [UInt8]?
        do { bytes = try SecretFile.read(path) } catch {
            if case .shared = error { throw .shared(error) }
            throw .unreadable(error)
        }
        guard let bytes else { return Contents(sets: [], current: nil) }
        let stored: Stored
        do { stored = try JSONDecoder().decode(Stored.self, from: Data(bytes)) } catch {
            throw .malformed("its JSON does not decode")
        }
        guard stored.version == Stored.currentVersion else {
            throw .malformed("version \(stored.version), this sidecar reads \(Stored.currentVersion)")
        }
        var sets: [AgentCredentialIssuer.Issued] = []
        for entry in stored.sets where entry.expiration > now {
            // The shape the issuer mints, so that nothing else can pass for one of its sets.
            guard entry.accessKeyId.hasPrefix("ASIA"), entry.accessKeyId.utf8.count == 20,
                  entry.secretAccessKey.utf8.count >= 40, entry.sessionToken.hasPrefix("REIN") else {
                throw .malformed("a set does not have the shape of the sets this sidecar issues")
            }
            sets.append(AgentCredentialIssuer.Issued(
                credentials: AWSCredentials(accessKeyId: entry.accessKeyId, secretAccessKey: entry.secretAccessKey,
                                            sessionToken: entry.sessionToken),
                expiration: entry.expiration))
        }
        let current = stored.current.flatMap { id in sets.contains { $0.credentials.accessKeyId == id } ? id : nil }
        return Contents(sets: sets, current: current)
    }

    /// Replaces the file with `contents` (``SecretFile/replace(_:with:)``).
    public func save(_ contents: Contents) throws(SecretFile.Problem) {
        let stored = Stored(version: Stored.currentVersion, current: contents.current,
                            sets: contents.sets.map {
                                Stored.Entry(accessKeyId: $0.credentials.accessKeyId, secretAccessKey: $0.credentials.secretAccessKey,
                                             sessionToken: $0.credentials.sessionToken ?? "", expiration: $0.expiration)
                            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(stored) } catch {
            throw .unwritable(path: path, reason: "cannot encode the credentials")
        }
        try SecretFile.replace(path, with: Array(data) + [0x0A])
    }

    /// Removes the file (one others could read: its keys are not trusted).
    public func remove() {
        unlink(path)
    }

    /// The JSON layout (`version` 1).
    struct Stored: Codable {
        static let currentVersion = 1
        var version: Int
        var current: String?
        var sets: [Entry]

        struct Entry: Codable {
            var accessKeyId: String
            var secretAccessKey: String
            var sessionToken: String
            /// Seconds since the epoch.
            var expiration: Int64

            enum CodingKeys: String, CodingKey {
                case accessKeyId = "access_key_id", secretAccessKey = "secret_access_key", sessionToken = "session_token", expiration
            }
        }
    }
}
