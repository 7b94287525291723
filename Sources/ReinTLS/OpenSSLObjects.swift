import CReinOpenSSL
import Foundation

/// An owned OpenSSL `X509`.
///
/// `@unchecked Sendable`: the certificate is never mutated after it is built
/// or parsed, and OpenSSL's X509 reference count is atomic, so sharing it
/// read-only across event loops (SSL_use_certificate only takes a reference)
/// is safe.
final class X509Certificate: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { X509_free(pointer) }

    static func parse(pem: [UInt8], path: String) throws(TLSError) -> X509Certificate {
        OpenSSLErrorQueue.clear()
        guard let p = pem.withUnsafeBytes({ CReinOpenSSL_x509_from_pem($0.baseAddress, $0.count) }) else {
            throw .fromOpenSSL(.invalidPEM, "\(path) does not hold a PEM certificate")
        }
        return X509Certificate(owning: p)
    }

    func pemString() throws(TLSError) -> String {
        OpenSSLErrorQueue.clear()
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard CReinOpenSSL_x509_pem(pointer, &out, &length) == 1, let out else {
            throw .fromOpenSSL(.certificateIssuance, "could not PEM-encode a certificate")
        }
        defer { CReinOpenSSL_buffer_free(out, length) }
        return String(decoding: UnsafeBufferPointer(start: out, count: length), as: UTF8.self)
    }

    /// The validity window, to the second.
    func validity() throws(TLSError) -> (notBefore: Date, notAfter: Date) {
        var notBefore: Int64 = 0
        var notAfter: Int64 = 0
        guard CReinOpenSSL_x509_validity(pointer, &notBefore, &notAfter) == 1 else {
            throw .fromOpenSSL(.invalidPEM, "could not read a certificate's validity dates")
        }
        return (Date(timeIntervalSince1970: TimeInterval(notBefore)),
                Date(timeIntervalSince1970: TimeInterval(notAfter)))
    }
}

/// An owned OpenSSL `EVP_PKEY` (always a private key here).
///
/// `@unchecked Sendable`: as for `X509Certificate`, the key is immutable once
/// created and EVP_PKEY's reference count is atomic; signing with it from
/// several threads is supported by OpenSSL 3.
final class PrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    static func generateP256() throws(TLSError) -> PrivateKey {
        OpenSSLErrorQueue.clear()
        guard let p = CReinOpenSSL_ec_p256_generate() else {
            throw .fromOpenSSL(.certificateIssuance, "could not generate a P-256 key")
        }
        return PrivateKey(owning: p)
    }

    static func parse(pem: [UInt8], path: String) throws(TLSError) -> PrivateKey {
        OpenSSLErrorQueue.clear()
        guard let p = pem.withUnsafeBytes({ CReinOpenSSL_pkey_from_pem($0.baseAddress, $0.count) }) else {
            throw .fromOpenSSL(.invalidPEM, "\(path) does not hold an unencrypted PEM private key")
        }
        return PrivateKey(owning: p)
    }

    /// Hands the PEM encoding to `body` and wipes it afterwards, so the key
    /// is never copied into a Swift array that outlives the write.
    func withPrivatePEM<R>(_ body: (UnsafeRawBufferPointer) throws(TLSError) -> R) throws(TLSError) -> R {
        OpenSSLErrorQueue.clear()
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard CReinOpenSSL_pkey_private_pem(pointer, &out, &length) == 1, let out else {
            throw .fromOpenSSL(.certificateIssuance, "could not PEM-encode a private key")
        }
        defer { CReinOpenSSL_buffer_free(out, length) }
        return try body(UnsafeRawBufferPointer(start: out, count: length))
    }
}

extension Date {
    /// Whole seconds since the epoch, for X.509 validity fields.
    var epochSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}
