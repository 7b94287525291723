import ReinCrypto

/// A registered checkpoint key as stored (hex), with its parsed form.
///
/// Why both: the collector compares the hex a checkpoint names with the
/// registered hex before it verifies, and a stored value that does not
/// parse must still be reported rather than crash verification.
public struct Ed25519PublicKeyHex: Sendable, Equatable {
    public let hex: String
    public let key: Ed25519PublicKey?

    public init(hex: String) {
        self.hex = hex
        key = Hex.decode(hex).flatMap { try? Ed25519PublicKey(rawRepresentation: $0) }
    }
}
