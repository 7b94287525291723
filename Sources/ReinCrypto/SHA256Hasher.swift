import CReinOpenSSL

/// Incremental SHA-256, for bodies and aws-chunked data that arrive in pieces.
/// Memory use is constant whatever the input size.
public final class SHA256Hasher {
    private let ctx: OpaquePointer

    public init() {
        guard let ctx = CReinOpenSSL_sha256_new() else {
            preconditionFailure("OpenSSL could not create a SHA-256 context: the crypto library is unusable")
        }
        self.ctx = ctx
    }

    deinit { CReinOpenSSL_sha256_free(ctx) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let ok = CReinOpenSSL_sha256_update(ctx, bytes.baseAddress, bytes.count)
        precondition(ok == 1, "OpenSSL SHA-256 update failed")
    }

    public func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// Returns the digest of everything fed so far and resets the hasher.
    public func finalize() -> Digest {
        var digest = Digest()
        withUnsafeMutableBytes(of: &digest.bytes) { out in
            let ok = CReinOpenSSL_sha256_final(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(ok == 1, "OpenSSL SHA-256 final failed")
        }
        return digest
    }
}
