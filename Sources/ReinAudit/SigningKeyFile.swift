import Foundation
import ReinCrypto

/// An Ed25519 checkpoint key on disk: the raw 32-byte seed in hex, created
/// with mode 0600 (and `O_EXCL`) on first use. Sidecars and the collector
/// keep theirs in their state directory.
///
/// Why on disk and stable: the collector pins the public half when a chain
/// is first registered; a chain whose key changed signs checkpoints that
/// are flagged as `unknown-key`.
public enum SigningKeyFile {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "the signing key \(path): \(reason)" }
    }

    public static func loadOrCreate(path: String) throws(Failure) -> Ed25519PrivateKey {
        let existing: [UInt8]?
        do { existing = try SecretFile.read(path) } catch {
            throw Failure(path: path, reason: "\(error)")
        }
        if let existing {
            let text = String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let seed = Hex.decode(text), seed.count == 32 else {
                throw Failure(path: path, reason: "is not 64 hex characters (an Ed25519 seed); restore it from backup. A new key "
                              + "(delete the file) needs a new sidecar_id too: the collector keeps the first key it saw for an id")
            }
            do { return try Ed25519PrivateKey(rawRepresentation: seed) } catch {
                throw Failure(path: path, reason: "is unusable: \(error)")
            }
        }
        let key: Ed25519PrivateKey
        do { key = try Ed25519PrivateKey() } catch {
            throw Failure(path: path, reason: "cannot be generated: \(error)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(path: path, reason: "cannot be created: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((Hex.encode(key.rawRepresentation) + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw Failure(path: path, reason: "cannot be written: \(String(cString: strerror(errno)))")
        }
        return key
    }
}
