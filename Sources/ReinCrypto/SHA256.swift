import CReinOpenSSL

/// SHA-256 through the system OpenSSL (EVP), so that a distribution's
/// FIPS provider applies to every hash Rein computes.
public enum SHA256 {
    /// The digest length in bytes.
    public static let byteCount = 32

    /// The hex digest of the empty string: the payload hash of an empty body.
    public static let emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Hashes a contiguous buffer.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var digest = Digest()
        withUnsafeMutableBytes(of: &digest.bytes) { out in
            let ok = CReinOpenSSL_sha256(bytes.baseAddress, bytes.count, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(ok == 1, "OpenSSL SHA-256 failed: the crypto library is unusable")
        }
        return digest
    }

    /// Hashes any byte sequence that can expose contiguous storage.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> Digest where Bytes.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        let array = Array(bytes)
        return array.withUnsafeBytes { hash($0) }
    }

    /// Hashes the UTF-8 bytes of a string.
    public static func hash(_ string: String) -> Digest {
        var copy = string
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}

/// A 32-byte SHA-256 (or HMAC-SHA256) result, stored inline to avoid heap
/// allocation on the request path.
public struct Digest: Sendable, Hashable {
    public var bytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    /// Builds a digest from exactly 32 bytes; returns nil for any other length.
    public init?<Bytes: Collection>(bytes source: Bytes) where Bytes.Element == UInt8 {
        guard source.count == SHA256.byteCount else { return nil }
        withUnsafeMutableBytes(of: &bytes) { raw in
            for (i, b) in source.enumerated() { raw[i] = b }
        }
    }

    public static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.bytes == rhs.bytes
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Access to the raw 32 bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: bytes, body)
    }

    /// The bytes as an array.
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lower-case hex, as SigV4 writes every hash and signature.
    public var hex: String { withUnsafeBytes { Hex.encode($0) } }
}
