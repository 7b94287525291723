import ReinCrypto
import Synchronization

/// Derived SigV4 signing keys, cached per (secret, date, region, service).
///
/// Deriving a key costs four HMACs; a cached key costs none and is kept as a
/// prepared OpenSSL HMAC context, so signing a request costs one MAC. The
/// secret is part of the cache key, so a rotated secret can never reuse a
/// stale key; the key type is private and never printed. The cache is bounded: when full it is
/// cleared, which only costs re-derivation.
public final class SigningKeyCache: Sendable {
    private struct Key: Hashable {
        let accessKeyId: String
        let secret: String
        let scope: CredentialScope

        /// Hashes the cheap, distinguishing parts; equality still compares all.
        func hash(into hasher: inout Hasher) {
            hasher.combine(accessKeyId)
            hasher.combine(scope.date)
        }
    }

    private let entries = Mutex<[Key: HMACKey]>([:])
    private let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// The signing key for these credentials and scope.
    public func signingKey(for credentials: AWSCredentials, scope: CredentialScope) -> HMACKey {
        let key = Key(accessKeyId: credentials.accessKeyId,
                      secret: credentials.secretAccessKey,
                      scope: scope)
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let derived = HMACKey(Self.derive(secret: credentials.secretAccessKey, scope: scope))
        entries.withLock { map in
            if map.count >= capacity { map.removeAll(keepingCapacity: true) }
            map[key] = derived
        }
        return derived
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    public static func derive(secret: String, scope: CredentialScope) -> Digest {
        let kDate = HMACSHA256.mac(key: Array(("AWS4" + secret).utf8), data: scope.date)
        let kRegion = HMACSHA256.mac(key: kDate, data: scope.region)
        let kService = HMACSHA256.mac(key: kRegion, data: scope.service)
        return HMACSHA256.mac(key: kService, data: "aws4_request")
    }

    public var count: Int { entries.withLock { $0.count } }
}
