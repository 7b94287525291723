import CReinOpenSSL

/// Facts about the linked crypto library, for `rein version` and start-up logs.
public enum CryptoLibrary {
    /// OpenSSL's own version text, e.g. "OpenSSL 3.0.19 27 Jan 2026".
    public static var versionText: String { String(cString: CReinOpenSSL_version_text()) }

    /// The numeric version (0xMNN00PP0L), used to insist on OpenSSL 3.
    public static var versionNumber: UInt { UInt(CReinOpenSSL_version_number()) }

    /// Whether a FIPS provider is installed and loadable on this system.
    public static var fipsProviderAvailable: Bool { CReinOpenSSL_fips_available() == 1 }

    /// Fills a buffer with cryptographically secure random bytes.
    public static func randomBytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { CReinOpenSSL_random($0.baseAddress, $0.count) }
        precondition(ok == 1, "OpenSSL's random generator failed")
        return out
    }
}
