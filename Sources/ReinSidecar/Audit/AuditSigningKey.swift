import Foundation
import ReinCrypto

/// The sidecar's checkpoint key: `state_dir/audit-signing.key`, the raw
/// 32-byte Ed25519 seed in hex, created (mode 0600) on first start.
///
/// Why on disk and stable: the collector pins the public half at the first
/// registration; a sidecar that lost its key would sign checkpoints the
/// collector flags as `unknown-key`. Created with `O_EXCL` so two sidecars
/// sharing a state directory by mistake cannot both write one.
enum AuditSigningKey {
    static func loadOrCreate(path: String) throws(SidecarStartError) -> Ed25519PrivateKey {
        if let data = FileManager.default.contents(atPath: path) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let seed = Hex.decode(text), seed.count == 32 else {
                throw SidecarStartError("the audit signing key \(path) is not 64 hex characters (an Ed25519 seed); "
                                        + "restore it from backup, or delete it to make a new key (the collector will then flag it until re-registered)")
            }
            do { return try Ed25519PrivateKey(rawRepresentation: seed) } catch {
                throw SidecarStartError("the audit signing key \(path) is unusable: \(error)")
            }
        }
        let key: Ed25519PrivateKey
        do { key = try Ed25519PrivateKey() } catch {
            throw SidecarStartError("cannot generate the audit signing key: \(error)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SidecarStartError("cannot create the audit signing key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((Hex.encode(key.rawRepresentation) + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw SidecarStartError("cannot write the audit signing key \(path): \(String(cString: strerror(errno)))")
        }
        return key
    }
}
