import Foundation
import Synchronization

/// Leaf certificates by server name, minted on first use and re-minted
/// shortly before they expire.
///
/// Handshakes on every event loop ask for identities, so the cache is
/// guarded by a mutex; minting (one ECDSA signature) happens under it, which
/// also keeps two handshakes for the same new name from minting twice.
public final class LeafCertificateCache: Sendable {
    /// A leaf is replaced once it is this close to expiry, so that no
    /// client sees a certificate about to lapse mid-connection.
    public static let renewalMargin: TimeInterval = 3600

    public let authority: CertificateAuthority
    private let capacity: Int
    private let clock: @Sendable () -> Date
    private let entries = Mutex<[String: ServerIdentity]>([:])

    /// - Parameters:
    ///   - capacity: names kept at most; beyond it the entry closest to
    ///     expiry is dropped, so a client cycling through names cannot grow
    ///     memory without bound.
    ///   - clock: injected for tests.
    public init(authority: CertificateAuthority, capacity: Int = 1024,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.authority = authority
        self.capacity = max(1, capacity)
        self.clock = clock
    }

    /// The identity for `serverName`, minting it if absent or due for renewal.
    ///
    /// - Throws: `invalidServerName` for anything but an LDH host name.
    public func identity(forServerName serverName: String) throws(TLSError) -> ServerIdentity {
        let name = try ServerName.normalized(serverName)
        let now = clock()
        return try entries.withLock { (cache) throws(TLSError) -> ServerIdentity in
            if let cached = cache[name], cached.notAfter.timeIntervalSince(now) > Self.renewalMargin {
                return cached
            }
            let minted = try authority.issueCertificate(forServerName: name, now: now)
            if cache[name] == nil && cache.count >= capacity {
                cache = cache.filter { $0.value.notAfter.timeIntervalSince(now) > Self.renewalMargin }
                if cache.count >= capacity, let soonest = cache.min(by: { $0.value.notAfter < $1.value.notAfter }) {
                    cache[soonest.key] = nil
                }
            }
            cache[name] = minted
            return minted
        }
    }

    /// How many names are cached now.
    public var count: Int { entries.withLock { $0.count } }
}
