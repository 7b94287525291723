import CReinOpenSSL
import Foundation

/// The server side of the forward proxy's TLS: one OpenSSL `SSL_CTX` shared
/// by every connection.
///
/// TLS 1.2 to 1.3 only, no renegotiation, no compression, server cipher
/// preference, no session resumption (so every handshake is decided afresh
/// by `allowServerName`), and ALPN `http/1.1` only (a client that offers
/// ALPN without it is refused with `no_application_protocol`).
///
/// The certificate is chosen per connection from the client's SNI: a name
/// `allowServerName` accepts gets `identity(name)` installed; a refused name,
/// an invalid one or no SNI at all fails the handshake with the alert
/// `unrecognized_name`, since there is no certificate to present.
///
/// `@unchecked Sendable`: the `SSL_CTX` is fully configured in `init` and
/// only used afterwards to create connections, which OpenSSL allows from
/// any thread; the two closures are `@Sendable`.
public final class TLSServerContext: @unchecked Sendable {
    let context: OpaquePointer
    let allowServerName: @Sendable (String) -> Bool
    let identity: @Sendable (String) throws(TLSError) -> ServerIdentity
    /// For a fixed identity (``init(certificateChainFile:privateKeyFile:)``):
    /// when its leaf certificate expires, for logs and health checks.
    public let leafNotAfter: Date?

    /// - Parameters:
    ///   - allowServerName: called on the event loop during each handshake
    ///     with the lowercase SNI name; it must be quick and must not block.
    ///   - identity: the certificate to present for an allowed name.
    public init(allowServerName: @escaping @Sendable (String) -> Bool,
                identity: @escaping @Sendable (String) throws(TLSError) -> ServerIdentity) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let context = CReinOpenSSL_tls_server_ctx_new(sniHandler) else {
            throw .fromOpenSSL(.contextSetup, "could not create the TLS server context")
        }
        self.context = context
        self.allowServerName = allowServerName
        self.identity = identity
        leafNotAfter = nil
    }

    /// A context with one fixed identity from PEM files (a chain, leaf first,
    /// and its key), for a service with its own certificate (the collector).
    /// Clients without SNI are served; there is no per-name decision.
    public init(certificateChainFile: String, privateKeyFile: String) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let context = CReinOpenSSL_tls_server_ctx_new_fixed(certificateChainFile, privateKeyFile) else {
            throw .fromOpenSSL(.contextSetup, "could not load the TLS certificate \(certificateChainFile) and key \(privateKeyFile)")
        }
        self.context = context
        // OpenSSL loaded the chain already; the leaf is read again only for its dates.
        leafNotAfter = (try? SecureFile.readPublic(certificateChainFile))
            .flatMap { try? X509Certificate.parse(pem: $0, path: certificateChainFile).validity().notAfter }
        allowServerName = { _ in true }
        identity = { (name) throws(TLSError) -> ServerIdentity in
            throw TLSError(.serverNameRefused, "this context has a fixed identity")
        }
    }

    /// A context presenting leaves from `certificates`.
    public convenience init(certificates: LeafCertificateCache,
                            allowServerName: @escaping @Sendable (String) -> Bool) throws(TLSError) {
        try self.init(allowServerName: allowServerName) { (name) throws(TLSError) -> ServerIdentity in
            try certificates.identity(forServerName: name)
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A new server-side connection engine (one per accepted TCP connection).
    public func makeConnection() throws(TLSError) -> TLSServerConnection {
        try TLSServerConnection(context: self)
    }
}

/// OpenSSL's SNI callback, via the C shim: finds the connection engine in
/// the SSL's app data and lets it decide.
private let sniHandler: CReinOpenSSL_sni_handler = { ssl, name, appData in
    guard let ssl, let appData else { return CREIN_SNI_ERROR }
    let connection = Unmanaged<TLSServerConnection>.fromOpaque(appData).takeUnretainedValue()
    return connection.selectIdentity(forRequestedName: name.map { String(cString: $0) }, ssl: ssl)
}
