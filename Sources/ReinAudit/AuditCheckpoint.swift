import Foundation
import ReinCrypto

/// A signed statement of a sidecar's chain head: "my record `sequence` has
/// hash `hash`", signed with the sidecar's Ed25519 key.
///
/// Why: the chain alone proves internal consistency, but whoever can rewrite
/// the whole spool could rebuild a consistent chain. A checkpoint signed with
/// a key whose public half the collector registered fixes the head at a
/// point in time; rewriting history then breaks a signature. This is
/// CloudTrail's digest-file model, made per sidecar.
public struct AuditCheckpoint: Sendable, Codable, Equatable {
    public static let schemaVersion = "rein.checkpoint/v1"

    public var schema: String = AuditCheckpoint.schemaVersion
    public var sidecarId: String
    public var sequence: Int64
    public var hash: String
    public var time: String
    /// The signing key's public half (hex), as registered with the collector.
    public var publicKey: String
    /// Ed25519 signature (hex) over ``signingPayload``.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case schema, sidecarId = "sidecar_id", sequence, hash, time, publicKey = "public_key", signature
    }

    public init(sidecarId: String, sequence: Int64, hash: String, time: String, publicKey: String, signature: String) {
        self.sidecarId = sidecarId
        self.sequence = sequence
        self.hash = hash
        self.time = time
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Refuses a sequence outside ``AuditChain/sequences``, as record lines
    /// do (``ChainedLine/check(sequence:)``), so every reader of shipped or
    /// exported checkpoints gets the bound.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        sidecarId = try c.decode(String.self, forKey: .sidecarId)
        sequence = try c.decode(Int64.self, forKey: .sequence)
        hash = try c.decode(String.self, forKey: .hash)
        time = try c.decode(String.self, forKey: .time)
        publicKey = try c.decode(String.self, forKey: .publicKey)
        signature = try c.decode(String.self, forKey: .signature)
        guard AuditChain.sequences.contains(sequence) else {
            throw DecodingError.dataCorruptedError(forKey: .sequence, in: c,
                                                   debugDescription: "sequence \(sequence) is outside 1…\(AuditChain.maxSequence)")
        }
    }

    /// The exact bytes signed: the schema and the four facts, one per line.
    public static func signingPayload(sidecarId: String, sequence: Int64, hash: String, time: String) -> [UInt8] {
        Array("\(schemaVersion)\n\(sidecarId)\n\(sequence)\n\(hash)\n\(time)\n".utf8)
    }

    public static func sign(sidecarId: String, sequence: Int64, hash: String, time: String,
                            key: Ed25519PrivateKey) throws(CryptoError) -> AuditCheckpoint {
        let sig = try key.signature(for: signingPayload(sidecarId: sidecarId, sequence: sequence, hash: hash, time: time))
        return AuditCheckpoint(sidecarId: sidecarId, sequence: sequence, hash: hash, time: time,
                               publicKey: key.publicKey.description, signature: Hex.encode(sig))
    }

    /// True when the signature is valid for `key` (the registered key, never
    /// the one the checkpoint names about itself).
    public func isSigned(by key: Ed25519PublicKey) -> Bool {
        guard let sig = Hex.decode(signature) else { return false }
        return key.isValidSignature(sig, for: Self.signingPayload(sidecarId: sidecarId, sequence: sequence, hash: hash, time: time))
    }

    private static let schemaMarker = Array("\"schema\":\"\(schemaVersion)\"".utf8)

    /// Whether `line` (one JSON object) is a checkpoint rather than a record.
    /// Why a byte search is exact: the marker's quotes would be escaped
    /// inside any string value, so only the checkpoint's own `schema` key
    /// produces it.
    public static func isCheckpointLine<Bytes: Collection>(_ line: Bytes) -> Bool where Bytes.Element == UInt8 {
        line.firstRange(of: schemaMarker) != nil
    }

    /// One line of JSON with sorted keys, newline-terminated.
    public func jsonLine() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }
}
