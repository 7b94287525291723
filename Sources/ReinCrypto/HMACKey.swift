import CReinOpenSSL

/// An HMAC-SHA256 key whose OpenSSL key schedule is prepared once.
///
/// SigV4 signs every request and every aws-chunked chunk with the same
/// derived signing key, so the keyed context is built once and duplicated per
/// MAC. This keeps HMAC on the request path to one copy plus the hash work.
public final class HMACKey: @unchecked Sendable {
    // @unchecked: `template` is written only in init and freed in deinit;
    // EVP_MAC_CTX_dup only reads it, so concurrent MACs are safe.
    private let template: OpaquePointer

    public init(key: UnsafeRawBufferPointer) {
        template = Self.makeTemplate(key)
    }

    public init(bytes: [UInt8]) {
        template = bytes.withUnsafeBytes { Self.makeTemplate($0) }
    }

    public init(_ key: Digest) {
        template = key.withUnsafeBytes { Self.makeTemplate($0) }
    }

    private static func makeTemplate(_ key: UnsafeRawBufferPointer) -> OpaquePointer {
        guard let t = CReinOpenSSL_hmac_template_new(key.baseAddress, key.count) else {
            preconditionFailure("OpenSSL could not create an HMAC-SHA256 context: the crypto library is unusable")
        }
        return t
    }

    deinit { CReinOpenSSL_hmac_template_free(template) }

    /// MAC of a contiguous buffer.
    public func mac(_ data: UnsafeRawBufferPointer) -> Digest {
        mac(data, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// MAC of the concatenation `a || b`, without building it.
    public func mac(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Digest {
        var digest = Digest()
        withUnsafeMutableBytes(of: &digest.bytes) { out in
            let ok = CReinOpenSSL_hmac_template_mac2(
                template, a.baseAddress, a.count, b.baseAddress, b.count,
                out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(ok == 1, "OpenSSL HMAC-SHA256 failed")
        }
        return digest
    }

    public func mac<Bytes: Sequence>(_ data: Bytes) -> Digest where Bytes.Element == UInt8 {
        if let d = data.withContiguousStorageIfAvailable({ mac(UnsafeRawBufferPointer($0)) }) { return d }
        return Array(data).withUnsafeBytes { mac($0) }
    }

    public func mac(_ string: String) -> Digest {
        var copy = string
        return copy.withUTF8 { mac(UnsafeRawBufferPointer($0)) }
    }
}

/// One-shot HMAC-SHA256, for key derivation where no key is reused.
public enum HMACSHA256 {
    public static func mac(key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) -> Digest {
        var digest = Digest()
        withUnsafeMutableBytes(of: &digest.bytes) { out in
            let ok = CReinOpenSSL_hmac_sha256(
                key.baseAddress, key.count, data.baseAddress, data.count,
                out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            precondition(ok == 1, "OpenSSL HMAC-SHA256 failed")
        }
        return digest
    }

    public static func mac(key: [UInt8], data: String) -> Digest {
        var s = data
        return key.withUnsafeBytes { k in s.withUTF8 { mac(key: k, data: UnsafeRawBufferPointer($0)) } }
    }

    public static func mac(key: Digest, data: String) -> Digest {
        mac(key: key.array, data: data)
    }
}
