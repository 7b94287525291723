import CReinOpenSSL
import Foundation

/// The sidecar's own certificate authority for the forward-proxy mode.
///
/// The agent trusts this CA (`AWS_CA_BUNDLE`), and the sidecar terminates
/// the agent's TLS with leaf certificates it signs. It lives in one
/// directory: `ca.pem` (the certificate, 0644, what the agent trusts) and
/// `ca.key` (the P-256 key, 0600). It is created on first start and loaded
/// afterwards, so that the bundle the agent was given stays valid across
/// sidecar restarts.
///
/// `@unchecked Sendable`: every stored property is immutable after `init`,
/// and the OpenSSL key and certificate are only read when signing.
public final class CertificateAuthority: @unchecked Sendable {
    /// The CA's validity when created: long enough that agents' bundles do
    /// not go stale, short enough that a forgotten CA eventually expires.
    public static let validity: TimeInterval = 5 * 365 * 24 * 3600
    /// How long a leaf is valid: a day, far shorter than the CA, so a leaked
    /// leaf is of little use. The cache re-mints before it runs out.
    public static let leafValidity: TimeInterval = 24 * 3600
    /// Backdating of every certificate, for clients whose clock runs behind.
    public static let backdating: TimeInterval = 3600

    /// The CA certificate in PEM, exactly as in `certificatePath`.
    public let certificatePEM: String
    public let certificatePath: String
    public let keyPath: String
    public let notAfter: Date

    let certificate: X509Certificate
    let key: PrivateKey
    /// One leaf key for every leaf this instance signs. Generating a key per
    /// server name would cost a key generation per new host and buy nothing:
    /// the leaf key never leaves this process's memory (it is never written
    /// to disk), it lives exactly as long as the CA key held next to it, and
    /// anyone who could read it could read the CA key and mint any leaf.
    /// It is regenerated on every start.
    let leafKey: PrivateKey

    private init(certificate: X509Certificate, key: PrivateKey, certificatePEM: String,
                 certificatePath: String, keyPath: String, notAfter: Date) throws(TLSError) {
        self.certificate = certificate
        self.key = key
        self.certificatePEM = certificatePEM
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.notAfter = notAfter
        self.leafKey = try PrivateKey.generateP256()
    }

    /// Loads the CA in `directory`, creating the directory (0700) and a new
    /// CA there if neither file exists yet.
    ///
    /// - Throws: `insecureKeyFile` when `ca.key` is group/other accessible,
    ///   `incompleteAuthority` when only one of the two files exists,
    ///   `unusableAuthority` when the CA has expired or the key does not match.
    public static func loadOrCreate(directory: String, commonName: String = "Rein sidecar CA",
                                    now: Date = Date()) throws(TLSError) -> CertificateAuthority {
        try SecureFile.ensureDirectory(directory)
        let certificatePath = directory + "/ca.pem"
        let keyPath = directory + "/ca.key"
        if !SecureFile.exists(keyPath) && !SecureFile.exists(certificatePath) {
            if let created = try create(certificatePath: certificatePath, keyPath: keyPath,
                                        commonName: commonName, now: now) {
                return created
            }
            // Another process created the key first; give it a moment to write the certificate.
            for _ in 0..<20 where !SecureFile.exists(certificatePath) { usleep(50_000) }
        }
        return try load(certificatePath: certificatePath, keyPath: keyPath, now: now)
    }

    /// Where the CA lives inside Rein's state directory.
    public static func directory(inStateDirectory stateDirectory: String) -> String {
        (stateDirectory.hasSuffix("/") ? stateDirectory : stateDirectory + "/") + "ca"
    }

    /// The state directory: the explicit one, else `REIN_STATE_DIR`, else `./.rein`.
    public static func stateDirectory(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["REIN_STATE_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "./.rein"
    }

    /// Signs a leaf certificate for one DNS name (validated first) with this
    /// CA's leaf key, valid from an hour ago for a day, never past the CA.
    public func issueCertificate(forServerName serverName: String, now: Date = Date()) throws(TLSError) -> ServerIdentity {
        let name = try ServerName.normalized(serverName)
        let notBefore = now.addingTimeInterval(-Self.backdating)
        let notAfter = min(now.addingTimeInterval(Self.leafValidity), self.notAfter)
        guard notAfter > now else {
            throw TLSError(.unusableAuthority, "CA \(certificatePath) expired at \(notAfter); delete its directory to create a new CA")
        }
        OpenSSLErrorQueue.clear()
        guard let leaf = CReinOpenSSL_x509_make_leaf(certificate.pointer, key.pointer, leafKey.pointer, name,
                                                     notBefore.epochSeconds, notAfter.epochSeconds) else {
            throw .fromOpenSSL(.certificateIssuance, "could not sign a certificate for \(name)")
        }
        return try ServerIdentity(serverName: name, certificate: X509Certificate(owning: leaf), key: leafKey)
    }

    /// Writes a new CA. Returns nil if `ca.key` appeared meanwhile (another
    /// sidecar won the race), in which case the caller loads that one.
    private static func create(certificatePath: String, keyPath: String, commonName: String,
                               now: Date) throws(TLSError) -> CertificateAuthority? {
        let key = try PrivateKey.generateP256()
        let notBefore = now.addingTimeInterval(-backdating)
        let notAfter = now.addingTimeInterval(validity)
        OpenSSLErrorQueue.clear()
        guard let raw = CReinOpenSSL_x509_make_ca(key.pointer, commonName, notBefore.epochSeconds, notAfter.epochSeconds) else {
            throw .fromOpenSSL(.certificateIssuance, "could not create the CA certificate")
        }
        let certificate = X509Certificate(owning: raw)
        let pem = try certificate.pemString()
        let created = try key.withPrivatePEM { (bytes) throws(TLSError) -> Bool in
            try SecureFile.createExclusive(keyPath, mode: 0o600, contents: bytes)
        }
        guard created else { return nil }
        try SecureFile.replace(certificatePath, mode: 0o644, contents: Array(pem.utf8))
        return try CertificateAuthority(certificate: certificate, key: key, certificatePEM: pem,
                                        certificatePath: certificatePath, keyPath: keyPath,
                                        notAfter: try certificate.validity().notAfter)
    }

    private static func load(certificatePath: String, keyPath: String, now: Date) throws(TLSError) -> CertificateAuthority {
        guard SecureFile.exists(keyPath), SecureFile.exists(certificatePath) else {
            let missing = SecureFile.exists(keyPath) ? certificatePath : keyPath
            throw TLSError(.incompleteAuthority,
                           "\(missing) is missing while the other CA file exists; restore it, or delete both to create a new CA "
                           + "(agents must then trust the new ca.pem)")
        }
        let key = try PrivateKey.parse(pem: SecureFile.readPrivate(keyPath), path: keyPath)
        let pemBytes = try SecureFile.readPublic(certificatePath)
        let certificate = try X509Certificate.parse(pem: pemBytes, path: certificatePath)
        OpenSSLErrorQueue.clear()
        guard CReinOpenSSL_x509_is_ca_for_key(certificate.pointer, key.pointer) == 1 else {
            throw .fromOpenSSL(.unusableAuthority,
                               "\(certificatePath) is not a CA certificate for the key in \(keyPath)")
        }
        let notAfter = try certificate.validity().notAfter
        guard notAfter > now else {
            throw TLSError(.unusableAuthority,
                           "CA \(certificatePath) expired at \(notAfter); delete its directory to create a new CA")
        }
        return try CertificateAuthority(certificate: certificate, key: key,
                                        certificatePEM: String(decoding: pemBytes, as: UTF8.self),
                                        certificatePath: certificatePath, keyPath: keyPath, notAfter: notAfter)
    }
}
