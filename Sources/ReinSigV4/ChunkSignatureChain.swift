import ReinCrypto

/// The chain of aws-chunked signatures: each chunk's signature covers the
/// previous one, starting from the request's seed signature, so chunks can
/// be neither reordered, dropped nor replayed.
public struct ChunkSignatureChain: Sendable {
    let key: HMACKey
    let prefix: String
    /// The most recent signature in the chain (the seed at first).
    public private(set) var previous: String

    public init(signingKey: HMACKey, amzDate: String, scope: CredentialScope, seedSignature: String) {
        key = signingKey
        prefix = amzDate + "\n" + scope.description + "\n"
        previous = seedSignature
    }

    /// Signs the next chunk, given the SHA-256 of its data, and advances.
    public mutating func nextChunkSignature(dataDigest: Digest) -> String {
        let sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + prefix + previous + "\n" + SHA256.emptyHex + "\n" + dataDigest.hex
        previous = key.mac(sts).hex
        return previous
    }

    /// Signs the trailer block, given the SHA-256 of its canonical form, and advances.
    public mutating func trailerSignature(trailerDigest: Digest) -> String {
        let sts = "AWS4-HMAC-SHA256-TRAILER\n" + prefix + previous + "\n" + trailerDigest.hex
        previous = key.mac(sts).hex
        return previous
    }

    /// The canonical trailer block that the trailer signature covers:
    /// `name:value\n` per trailer, names lower-cased, values trimmed.
    public static func canonicalTrailer(_ trailers: [HTTPHeader]) -> [UInt8] {
        var out = [UInt8]()
        for t in trailers {
            out.append(contentsOf: t.lowercasedName.utf8)
            out.append(UInt8(ascii: ":"))
            ASCII.trimAll(t.value, into: &out)
            out.append(0x0A)
        }
        return out
    }
}
