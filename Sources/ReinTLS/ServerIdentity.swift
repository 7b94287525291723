import Foundation

/// A leaf certificate and its private key, presented to clients that ask
/// for `serverName`.
///
/// `@unchecked Sendable`: every stored property is immutable, and the
/// wrapped OpenSSL objects are only read (see `X509Certificate`).
public final class ServerIdentity: @unchecked Sendable {
    /// The DNS name in the certificate's subjectAltName, lowercase.
    public let serverName: String
    public let notBefore: Date
    public let notAfter: Date
    /// The leaf certificate (not the key), for diagnostics and tests.
    public let certificatePEM: String

    let certificate: X509Certificate
    let key: PrivateKey

    init(serverName: String, certificate: X509Certificate, key: PrivateKey) throws(TLSError) {
        self.serverName = serverName
        self.certificate = certificate
        self.key = key
        let validity = try certificate.validity()
        notBefore = validity.notBefore
        notAfter = validity.notAfter
        certificatePEM = try certificate.pemString()
    }
}
