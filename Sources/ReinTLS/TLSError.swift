import CReinOpenSSL

/// Why a certificate or TLS operation failed.
///
/// Every error names what was being done, the file or server name involved,
/// and, when OpenSSL was the one to refuse, the text of OpenSSL's error queue
/// for that call. Errors never carry key material.
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; compare against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Reading, writing or creating a file or directory failed.
        public static let fileSystem = Code("fileSystem")
        /// The CA key file is readable or writable by group or others.
        public static let insecureKeyFile = Code("insecureKeyFile")
        /// The CA directory is writable by group or others.
        public static let insecureDirectory = Code("insecureDirectory")
        /// Only one of `ca.pem` and `ca.key` exists.
        public static let incompleteAuthority = Code("incompleteAuthority")
        /// A PEM file could not be parsed.
        public static let invalidPEM = Code("invalidPEM")
        /// The CA on disk cannot be used: expired, not a CA, or key and certificate differ.
        public static let unusableAuthority = Code("unusableAuthority")
        /// A server name is not a valid DNS host name.
        public static let invalidServerName = Code("invalidServerName")
        /// OpenSSL failed to generate a key or build a certificate.
        public static let certificateIssuance = Code("certificateIssuance")
        /// OpenSSL failed to set up a TLS context or connection.
        public static let contextSetup = Code("contextSetup")
        /// The client asked for a server name that the allow predicate refused.
        public static let serverNameRefused = Code("serverNameRefused")
        /// The client sent no SNI, so no certificate could be chosen.
        public static let missingServerName = Code("missingServerName")
        /// The TLS handshake failed (protocol version, alert from the peer, ...).
        public static let handshakeFailed = Code("handshakeFailed")
        /// The peer broke the TLS protocol after the handshake.
        public static let protocolViolation = Code("protocolViolation")
        /// Plaintext was written before the handshake or after shutdown.
        public static let notWritable = Code("notWritable")
    }

    public let code: Code
    /// What Rein was doing and with what, for the operator.
    public let message: String
    /// OpenSSL's error queue for the failed call, if OpenSSL reported anything.
    public let openSSLErrors: String?

    init(_ code: Code, _ message: String, openSSLErrors: String? = nil) {
        self.code = code
        self.message = message
        self.openSSLErrors = openSSLErrors
    }

    /// An error whose OpenSSL detail is taken (and cleared) from this thread's error queue.
    static func fromOpenSSL(_ code: Code, _ message: String) -> TLSError {
        TLSError(code, message, openSSLErrors: OpenSSLErrorQueue.drain())
    }

    public var description: String {
        guard let openSSLErrors else { return message }
        return "\(message) (OpenSSL: \(openSSLErrors))"
    }
}

/// OpenSSL's thread-local error queue. NIO event loops serve many
/// connections on one thread, so the queue is cleared before each call whose
/// errors Rein reports, and drained right after a failure.
enum OpenSSLErrorQueue {
    static func clear() { ERR_clear_error() }

    static func drain() -> String? {
        let capacity = 2048
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let length = CReinOpenSSL_errors_text(buffer, capacity)
        return length == 0 ? nil : String(cString: buffer)
    }
}
