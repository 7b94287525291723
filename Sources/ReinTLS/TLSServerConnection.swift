import CReinOpenSSL

/// One server-side TLS connection as a byte engine: ciphertext in,
/// plaintext out and back, over two OpenSSL memory BIOs. No sockets, no
/// event loop: the caller moves bytes (the NIO handler in the sidecar, or a
/// test driving a client engine directly).
///
/// Not thread-safe: use it from one thread at a time (a channel's event loop).
public final class TLSServerConnection {
    /// What one `readPlaintext()` produced.
    public enum ReadResult: Equatable, Sendable {
        /// Decrypted application data.
        case data([UInt8])
        /// Nothing more can be decrypted until more ciphertext is fed (the
        /// handshake may also have produced ciphertext to send).
        case wantMoreInput
        /// The peer sent close_notify: no more data will come.
        case closed
    }

    private let context: TLSServerContext
    private let ssl: OpaquePointer
    private var handshakeDone = false
    private var receivedCloseNotify = false
    private var sentCloseNotify = false
    private var failure: TLSError?
    /// Set by the SNI callback when it refuses, so the handshake error can
    /// say why instead of OpenSSL's generic "callback failed".
    private var identityFailure: TLSError?
    /// One TLS record's worth of plaintext, reused by every read.
    private var scratch = [UInt8](repeating: 0, count: 16 * 1024)

    /// The SNI name the certificate was presented for (lowercase), once accepted.
    public private(set) var negotiatedServerName: String?
    /// The SNI name the client asked for, accepted or not, with anything but
    /// printable ASCII escaped (for logs and audit).
    public private(set) var requestedServerName: String?

    init(context: TLSServerContext) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let ssl = CReinOpenSSL_ssl_new_server(context.context) else {
            throw .fromOpenSSL(.contextSetup, "could not create a TLS connection")
        }
        self.context = context
        self.ssl = ssl
        // Unretained: the SSL is owned by self and freed in deinit, and the
        // callback that reads this pointer only runs inside self's calls.
        CReinOpenSSL_ssl_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { SSL_free(ssl) }

    public var isHandshakeComplete: Bool { handshakeDone }

    /// "TLSv1.2" or "TLSv1.3" once the handshake is complete.
    public var negotiatedProtocolVersion: String? {
        guard handshakeDone, let version = SSL_get_version(ssl) else { return nil }
        return String(cString: version)
    }

    /// The ALPN protocol selected ("http/1.1"), or nil when the client offered none.
    public var negotiatedApplicationProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// True once the peer's close_notify has been read.
    public var isInputClosed: Bool { receivedCloseNotify }

    /// Queues ciphertext received from the peer.
    public func feed(ciphertext: UnsafeRawBufferPointer) {
        guard ciphertext.count > 0, failure == nil else { return }
        OpenSSLErrorQueue.clear()
        if CReinOpenSSL_ssl_feed(ssl, ciphertext.baseAddress, ciphertext.count) != 1 {
            failure = .fromOpenSSL(.protocolViolation, "could not buffer received TLS data")
        }
    }

    public func feed(ciphertext: [UInt8]) {
        ciphertext.withUnsafeBytes { feed(ciphertext: $0) }
    }

    /// Advances the handshake and returns the next decrypted bytes.
    ///
    /// Call it until it returns `.wantMoreInput` or `.closed`, then send
    /// `drainCiphertext()`; check `isHandshakeComplete` between calls to see
    /// when the handshake finished.
    ///
    /// - Throws: the handshake or protocol failure; afterwards the connection
    ///   is dead, and `drainCiphertext()` holds the alert for the peer.
    public func readPlaintext() throws(TLSError) -> ReadResult {
        if let failure { throw failure }
        if receivedCloseNotify { return .closed }
        OpenSSLErrorQueue.clear()
        if !handshakeDone {
            let result = SSL_do_handshake(ssl)
            guard result == 1 else {
                let code = SSL_get_error(ssl, result)
                if code == SSL_ERROR_WANT_READ { return .wantMoreInput }
                throw fail(handshakeError(code))
            }
            handshakeDone = true
        }
        var count = 0
        let ok = scratch.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
        if ok == 1 { return .data(Array(scratch[0..<count])) }
        switch SSL_get_error(ssl, ok) {
        case SSL_ERROR_WANT_READ:
            return .wantMoreInput
        case SSL_ERROR_ZERO_RETURN:
            receivedCloseNotify = true
            return .closed
        default:
            throw fail(.fromOpenSSL(.protocolViolation, "TLS connection\(nameSuffix) failed"))
        }
    }

    /// Encrypts `plaintext` for the peer; send `drainCiphertext()` afterwards.
    ///
    /// - Throws: `notWritable` before the handshake completes or after `shutdown()`.
    public func write(plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        if let failure { throw failure }
        guard handshakeDone else { throw TLSError(.notWritable, "TLS write before the handshake completed") }
        guard !sentCloseNotify else { throw TLSError(.notWritable, "TLS write after close_notify") }
        var offset = 0
        while offset < plaintext.count {
            OpenSSLErrorQueue.clear()
            var written = 0
            guard SSL_write_ex(ssl, plaintext.baseAddress.map { $0 + offset }, plaintext.count - offset, &written) == 1 else {
                throw fail(.fromOpenSSL(.protocolViolation, "TLS write\(nameSuffix) failed"))
            }
            offset += written
        }
    }

    public func write(plaintext: [UInt8]) throws(TLSError) {
        try plaintext.withUnsafeBytes { bytes in
            Result { () throws(TLSError) in try write(plaintext: bytes) }
        }.get()
    }

    /// Bytes waiting to be sent to the peer.
    public var pendingCiphertextCount: Int { CReinOpenSSL_ssl_pending_out(ssl) }

    /// Moves up to `buffer.count` waiting bytes into `buffer`; returns how many.
    public func drainCiphertext(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count > 0 else { return 0 }
        return CReinOpenSSL_ssl_drain(ssl, buffer.baseAddress, buffer.count)
    }

    /// All ciphertext waiting to be sent to the peer.
    public func drainCiphertext() -> [UInt8] {
        let count = pendingCiphertextCount
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { drainCiphertext(into: $0) }
        bytes.removeSubrange(n...)
        return bytes
    }

    /// Queues close_notify (send `drainCiphertext()`). Does not wait for the
    /// peer's; a server may close right after sending its own. A no-op
    /// before the handshake completes or after a failure.
    public func shutdown() {
        guard handshakeDone, failure == nil, !sentCloseNotify else { return }
        sentCloseNotify = true
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    /// The SNI decision, called by OpenSSL (through the C shim) during the handshake.
    func selectIdentity(forRequestedName requested: String?, ssl: OpaquePointer) -> Int32 {
        guard let requested else {
            identityFailure = TLSError(.missingServerName,
                                       "refused TLS: the client sent no server name (SNI), so there is no certificate to present")
            return CREIN_SNI_REFUSE
        }
        requestedServerName = ServerName.printable(requested)
        let name: String
        do {
            name = try ServerName.normalized(requested)
        } catch {
            identityFailure = TLSError(.serverNameRefused, "refused TLS for an invalid server name: \(error.message)")
            return CREIN_SNI_REFUSE
        }
        guard context.allowServerName(name) else {
            identityFailure = TLSError(.serverNameRefused, "refused TLS for \(name): not an allowed server name")
            return CREIN_SNI_REFUSE
        }
        do {
            let identity = try context.identity(name)
            guard CReinOpenSSL_ssl_use_identity(ssl, identity.certificate.pointer, identity.key.pointer) == 1 else {
                identityFailure = .fromOpenSSL(.certificateIssuance, "could not install the certificate for \(name)")
                return CREIN_SNI_ERROR
            }
        } catch {
            identityFailure = error
            return CREIN_SNI_ERROR
        }
        negotiatedServerName = name
        return CREIN_SNI_ACCEPT
    }

    private var nameSuffix: String { negotiatedServerName.map { " for \($0)" } ?? "" }

    private func handshakeError(_ code: Int32) -> TLSError {
        if let identityFailure {
            OpenSSLErrorQueue.clear()
            return identityFailure
        }
        if code == SSL_ERROR_SYSCALL {
            return .fromOpenSSL(.handshakeFailed, "TLS handshake\(nameSuffix) ended unexpectedly")
        }
        return .fromOpenSSL(.handshakeFailed, "TLS handshake\(nameSuffix) failed")
    }

    private func fail(_ error: TLSError) -> TLSError {
        failure = error
        return error
    }
}
