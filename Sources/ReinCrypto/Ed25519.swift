import CReinOpenSSL

/// Ed25519 keys on system OpenSSL, for signing audit checkpoints.
///
/// Why Ed25519: CloudTrail's digest model needs a per-sidecar signature that
/// the collector can check with a small public key registered once; Ed25519
/// keys and signatures are fixed-size (32 and 64 bytes), deterministic, and
/// available in every OpenSSL 3 including FIPS builds that enable EdDSA.
public struct Ed25519PrivateKey: Sendable, CustomStringConvertible {
    /// The raw 32-byte seed. Kept private; `description` never shows it.
    private let seed: [UInt8]
    public let publicKey: Ed25519PublicKey

    /// A fresh key from OpenSSL's generator.
    public init() throws(CryptoError) {
        var priv = [UInt8](repeating: 0, count: 32)
        var pub = [UInt8](repeating: 0, count: 32)
        let ok = priv.withUnsafeMutableBufferPointer { p in
            pub.withUnsafeMutableBufferPointer { q in CReinOpenSSL_ed25519_generate(p.baseAddress, q.baseAddress) }
        }
        guard ok == 1 else { throw CryptoError(operation: "Ed25519 key generation") }
        seed = priv
        publicKey = Ed25519PublicKey(unchecked: pub)
    }

    /// A key from its raw 32-byte seed (as stored on disk).
    public init(rawRepresentation raw: [UInt8]) throws(CryptoError) {
        guard raw.count == 32 else { throw CryptoError(operation: "Ed25519 private key of \(raw.count) bytes (need 32)") }
        var pub = [UInt8](repeating: 0, count: 32)
        let ok = raw.withUnsafeBufferPointer { p in
            pub.withUnsafeMutableBufferPointer { q in CReinOpenSSL_ed25519_public_from_private(p.baseAddress, q.baseAddress) }
        }
        guard ok == 1 else { throw CryptoError(operation: "Ed25519 public key derivation") }
        seed = raw
        publicKey = Ed25519PublicKey(unchecked: pub)
    }

    /// The raw seed, for writing the key file (mode 0600) only.
    public var rawRepresentation: [UInt8] { seed }

    public func signature<Bytes: Sequence>(for message: Bytes) throws(CryptoError) -> [UInt8] where Bytes.Element == UInt8 {
        let msg = Array(message)
        var sig = [UInt8](repeating: 0, count: 64)
        let ok = seed.withUnsafeBufferPointer { k in
            msg.withUnsafeBytes { m in
                sig.withUnsafeMutableBufferPointer { s in
                    CReinOpenSSL_ed25519_sign(k.baseAddress, m.baseAddress, m.count, s.baseAddress)
                }
            }
        }
        guard ok == 1 else { throw CryptoError(operation: "Ed25519 signing") }
        return sig
    }

    public var description: String { "Ed25519PrivateKey(public: \(publicKey), private: <redacted>)" }
}

/// An Ed25519 public key (raw 32 bytes).
public struct Ed25519PublicKey: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let rawRepresentation: [UInt8]

    init(unchecked raw: [UInt8]) { rawRepresentation = raw }

    public init(rawRepresentation raw: [UInt8]) throws(CryptoError) {
        guard raw.count == 32 else { throw CryptoError(operation: "Ed25519 public key of \(raw.count) bytes (need 32)") }
        rawRepresentation = raw
    }

    /// True when `signature` is a valid signature of `message` by this key.
    public func isValidSignature<Bytes: Sequence>(_ signature: [UInt8], for message: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard signature.count == 64 else { return false }
        let msg = Array(message)
        let ok = rawRepresentation.withUnsafeBufferPointer { k in
            msg.withUnsafeBytes { m in
                signature.withUnsafeBufferPointer { s in
                    CReinOpenSSL_ed25519_verify(k.baseAddress, m.baseAddress, m.count, s.baseAddress)
                }
            }
        }
        return ok == 1
    }

    /// The key as lower-case hex: how it is registered and printed.
    public var description: String { Hex.encode(rawRepresentation) }
}
