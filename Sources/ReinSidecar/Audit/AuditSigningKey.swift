import Foundation
import ReinAudit
import ReinCrypto

/// The sidecar's checkpoint key: `state_dir/audit-signing.key`
/// (``SigningKeyFile``), created on first start.
enum AuditSigningKey {
    static func loadOrCreate(path: String) throws(SidecarStartError) -> Ed25519PrivateKey {
        do {
            return try SigningKeyFile.loadOrCreate(path: path)
        } catch {
            throw SidecarStartError("audit: \(error)")
        }
    }
}
