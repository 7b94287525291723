import Foundation
import Logging
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
/// until their own expiry so in-flight requests keep verifying. With an
/// ``AgentCredentialFile`` the sets outlive a restart of the sidecar.
public final class AgentCredentialIssuer: CredentialLookup {
    public struct Issued: Sendable, Equatable {
        public let credentials: AWSCredentials
        /// Seconds since the epoch.
        public let expiration: Int64
    }

    private struct State {
        var live: [String: Issued] = [:]
        var current: Issued?
        /// Bumped at every mint, so that a slower save of an older set never overwrites a newer one.
        var generation = 0
    }

    private let state = Mutex(State())
    private let file: AgentCredentialFile?
    /// The generation last written to `file`; held while writing.
    private let saved = Mutex(0)
    private let logger: Logger
    private let staticKeys: [String: AWSCredentials]
    private let ttl: Int64
    private let rotateBefore: Int64
    private let notAfter: @Sendable () -> Int64?
    private let clock: @Sendable () -> Int64

    /// - Parameters:
    ///   - ttl: lifetime of each issued set.
    ///   - notAfter: the task's expiry; nothing is issued past it.
    ///   - staticKeys: configured keys, for tests only (flagged at start-up).
    ///   - file: where issued sets are kept across restarts; the sets still
    ///     valid in it are accepted again, and the last one handed out is
    ///     handed out again while it has time left.
    public init(ttl: Int64, rotateBefore: Int64 = 20 * 60, staticKeys: [AWSCredentials] = [],
                notAfter: @escaping @Sendable () -> Int64? = { nil },
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                file: AgentCredentialFile? = nil, logger: Logger = Logger(label: "rein.sidecar.credentials")) {
        self.ttl = ttl
        self.rotateBefore = min(rotateBefore, ttl / 2)
        self.notAfter = notAfter
        self.clock = clock
        self.file = file
        self.logger = logger
        var map: [String: AWSCredentials] = [:]
        for k in staticKeys { map[k.accessKeyId] = k }
        self.staticKeys = map
        if let file { restore(from: file) }
    }

    /// Takes back the sets a previous run issued that are still valid.
    private func restore(from file: AgentCredentialFile) {
        let contents: AgentCredentialFile.Contents
        do { contents = try file.load(now: clock()) } catch {
            if case .shared = error { file.remove() }
            logger.warning("""
                the agent credentials kept from the last run are not used: agents fetch new ones at their next refresh, \
                and calls signed with the old ones are refused until then
                """,
                           metadata: ["credentials.file": "\(file.path)", "error": "\(error)"])
            return
        }
        guard !contents.sets.isEmpty else { return }
        state.withLock { s in
            for set in contents.sets { s.live[set.credentials.accessKeyId] = set }
            s.current = contents.current.flatMap { s.live[$0] }
        }
        logger.info("agent credentials issued before this start are accepted until they expire", metadata: [
            "credentials.file": "\(file.path)", "credentials.sets": "\(contents.sets.count)",
            "credentials.access_key_ids": "\(contents.sets.map(\.credentials.accessKeyId).joined(separator: ","))",
        ])
    }

    public var hasStaticKeys: Bool { !staticKeys.isEmpty }

    /// The set an agent should use now, minting a new one when due.
    /// Returns nil when the task has expired: there is nothing to sign for.
    public func issue() -> Issued? {
        let now = clock()
        let limit = notAfter()
        if let limit, limit <= now { return nil }
        let (issued, minted) = state.withLock { s -> (Issued, (generation: Int, contents: AgentCredentialFile.Contents)?) in
            s.live = s.live.filter { $0.value.expiration > now }
            // Keep the current set while it has time left, or when it already runs to the task's end.
            if let current = s.current, current.expiration > now,
               current.expiration - now > rotateBefore || current.expiration >= (limit ?? .max) {
                return (current, nil)
            }
            var expiration = now + ttl
            if let limit { expiration = min(expiration, limit) }
            let issued = Issued(credentials: Self.mint(), expiration: expiration)
            s.live[issued.credentials.accessKeyId] = issued
            s.current = issued
            s.generation += 1
            let sets = s.live.values.sorted { $0.expiration < $1.expiration }
            return (issued, (s.generation, AgentCredentialFile.Contents(sets: sets, current: issued.credentials.accessKeyId)))
        }
        // Written outside the lock every request's verification takes (a mint is
        // rare: once per rotation); the agent gets the set even if the write fails.
        if let minted, let file { save(minted.contents, generation: minted.generation, to: file) }
        return issued
    }

    private func save(_ contents: AgentCredentialFile.Contents, generation: Int, to file: AgentCredentialFile) {
        saved.withLock { last in
            guard generation > last else { return }
            do {
                try file.save(contents)
                last = generation
            } catch {
                logger.error("""
                    could not keep the agent's new credentials on disk: if the sidecar restarts before they expire, \
                    the agent's calls are refused until its next refresh
                    """,
                             metadata: ["credentials.file": "\(file.path)", "error": "\(error)"])
            }
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
