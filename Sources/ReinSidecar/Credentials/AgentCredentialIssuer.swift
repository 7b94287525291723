import Foundation
import ReinCrypto
import ReinSigV4
import Synchronization

/// Issues the agent its short-lived *agent session credentials* and looks
/// them up when the agent signs with them.
///
/// Why this design: the agent must be able to sign (its SDK insists on
/// credentials) but must never hold anything AWS would accept. These keys
/// are random, known only to this process, and expire; AWS has never heard
/// of them. Rotation follows the SDKs: they refresh container credentials
/// about 15 minutes before `Expiration`, so a new set is minted once the
/// current one has less than `rotateBefore` left, and older sets stay valid
/// until their own expiry so in-flight requests keep verifying.
public final class AgentCredentialIssuer: CredentialLookup {
    public struct Issued: Sendable, Equatable {
        public let credentials: AWSCredentials
        /// Seconds since the epoch.
        public let expiration: Int64
    }

    private struct State {
        var live: [String: Issued] = [:]
        var current: Issued?
    }

    private let state = Mutex(State())
    private let staticKeys: [String: AWSCredentials]
    private let ttl: Int64
    private let rotateBefore: Int64
    private let notAfter: @Sendable () -> Int64?
    private let clock: @Sendable () -> Int64

    /// - Parameters:
    ///   - ttl: lifetime of each issued set.
    ///   - notAfter: the task's expiry; nothing is issued past it.
    ///   - staticKeys: configured keys, for tests only (flagged at start-up).
    public init(ttl: Int64, rotateBefore: Int64 = 20 * 60, staticKeys: [AWSCredentials] = [],
                notAfter: @escaping @Sendable () -> Int64? = { nil },
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.ttl = ttl
        self.rotateBefore = min(rotateBefore, ttl / 2)
        self.notAfter = notAfter
        self.clock = clock
        var map: [String: AWSCredentials] = [:]
        for k in staticKeys { map[k.accessKeyId] = k }
        self.staticKeys = map
    }

    public var hasStaticKeys: Bool { !staticKeys.isEmpty }

    /// The set an agent should use now, minting a new one when due.
    /// Returns nil when the task has expired: there is nothing to sign for.
    public func issue() -> Issued? {
        let now = clock()
        let limit = notAfter()
        if let limit, limit <= now { return nil }
        return state.withLock { s -> Issued in
            s.live = s.live.filter { $0.value.expiration > now }
            // Keep the current set while it has time left, or when it already runs to the task's end.
            if let current = s.current, current.expiration > now,
               current.expiration - now > rotateBefore || current.expiration >= (limit ?? .max) {
                return current
            }
            var expiration = now + ttl
            if let limit { expiration = min(expiration, limit) }
            let issued = Issued(credentials: Self.mint(), expiration: expiration)
            s.live[issued.credentials.accessKeyId] = issued
            s.current = issued
            return issued
        }
    }

    public func credentials(forAccessKeyId accessKeyId: String) -> AWSCredentials? {
        if let k = staticKeys[accessKeyId] { return k }
        let now = clock()
        return state.withLock { s in
            guard let issued = s.live[accessKeyId], issued.expiration > now else { return nil }
            return issued.credentials
        }
    }

    /// Random credentials shaped like STS's, so SDK validation accepts them.
    static func mint() -> AWSCredentials {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        let idBytes = CryptoLibrary.randomBytes(count: 16)
        let keyId = "ASIA" + String(decoding: idBytes.map { alphabet[Int($0) & 31] }, as: UTF8.self)
        let secret = base64URL(CryptoLibrary.randomBytes(count: 30))
        let token = "REIN" + base64URL(CryptoLibrary.randomBytes(count: 96))
        return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token)
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
