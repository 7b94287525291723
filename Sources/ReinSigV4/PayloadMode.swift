import ReinCrypto

/// How the request body is covered by the signature, from x-amz-content-sha256.
public enum PayloadMode: Sendable, Equatable {
    /// A hex SHA-256 of the body, declared in x-amz-content-sha256. The body
    /// must be checked against it as it streams.
    case declaredHash(String)
    /// No x-amz-content-sha256: the signature covers the SHA-256 of the body,
    /// which the verifier must be given.
    case bodyHash
    /// `UNSIGNED-PAYLOAD`: the body is not covered.
    case unsigned
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: aws-chunked with chunk signatures.
    case streamingSigned
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a signed trailer.
    case streamingSignedTrailer
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked, unsigned chunks, trailing checksum.
    case streamingUnsignedTrailer

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let streamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    public static let streamingSignedTrailerPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    public static let streamingUnsignedTrailerPayload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    /// Interprets an x-amz-content-sha256 value (nil when the header is absent).
    public static func parse(_ header: String?) throws(SigV4Error) -> PayloadMode {
        guard let header else { return .bodyHash }
        switch header {
        case unsignedPayload: return .unsigned
        case streamingSignedPayload: return .streamingSigned
        case streamingSignedTrailerPayload: return .streamingSignedTrailer
        case streamingUnsignedTrailerPayload: return .streamingUnsignedTrailer
        default:
            guard header.utf8.count == 64, Hex.isHex(header) else {
                throw SigV4Error(.invalidPayloadHash,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a SHA-256 in hex")
            }
            return .declaredHash(header)
        }
    }

    /// Whether the body is aws-chunked framing rather than raw bytes.
    public var isChunked: Bool {
        switch self {
        case .streamingSigned, .streamingSignedTrailer, .streamingUnsignedTrailer: return true
        default: return false
        }
    }

    /// Whether each chunk carries a signature.
    public var hasChunkSignatures: Bool { self == .streamingSigned || self == .streamingSignedTrailer }

    /// Whether a trailer follows the final chunk.
    public var hasTrailer: Bool { self == .streamingSignedTrailer || self == .streamingUnsignedTrailer }

    /// The name used in explanations and audit records.
    public var name: String {
        switch self {
        case .declaredHash: return "sha256"
        case .bodyHash: return "body-hash"
        case .unsigned: return Self.unsignedPayload
        case .streamingSigned: return Self.streamingSignedPayload
        case .streamingSignedTrailer: return Self.streamingSignedTrailerPayload
        case .streamingUnsignedTrailer: return Self.streamingUnsignedTrailerPayload
        }
    }
}

extension Hex {
    static func isHex(_ s: String) -> Bool {
        s.utf8.allSatisfy { Hex.value($0) != nil }
    }
}
