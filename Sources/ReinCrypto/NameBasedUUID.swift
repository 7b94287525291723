import CReinOpenSSL
import Foundation

/// Version 5 (name-based, SHA-1) UUIDs, RFC 9562 §5.5.
///
/// Why: OSCAL documents need UUIDs of version 4 or 5, and a report must be
/// byte-identical for the same data and period, so its UUIDs are derived
/// from what they name rather than drawn at random. SHA-1 here is a naming
/// function, not a security control.
public enum NameBasedUUID {
    /// The RFC 9562 URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
    public static let urlNamespace = UUID(uuidString: "6ba7b811-9dad-11d1-80b4-00c04fd430c8")!

    public static func v5(namespace: UUID, name: String) -> UUID {
        var bytes = withUnsafeBytes(of: namespace.uuid) { Array($0) }
        bytes += Array(name.utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        let ok = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { CReinOpenSSL_sha1(input.baseAddress, input.count, $0.baseAddress) }
        }
        precondition(ok == 1, "OpenSSL SHA-1 failed: the crypto library is unusable")
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        return UUID(uuid: (digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
                           digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14], digest[15]))
    }
}
