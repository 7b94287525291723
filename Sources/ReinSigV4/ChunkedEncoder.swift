import ReinCrypto

/// Writes an aws-chunked body, signing each chunk with a new chain.
///
/// The sidecar re-encodes an agent's upload chunk for chunk: same chunk
/// sizes, so the encoded length (and Content-Length) is unchanged, but every
/// signature is recomputed under the broker's credentials. Trailing
/// checksums are carried over as they came.
public struct ChunkedEncoder {
    public let mode: PayloadMode
    private var chain: ChunkSignatureChain?
    private let hasher = SHA256Hasher()

    public init(mode: PayloadMode, chain: ChunkSignatureChain?) {
        precondition(mode.isChunked, "ChunkedEncoder needs an aws-chunked payload mode")
        precondition(!mode.hasChunkSignatures || chain != nil, "signed aws-chunked modes need a signature chain")
        self.mode = mode
        self.chain = chain
    }

    /// Frames one non-empty chunk: `size[;chunk-signature=sig]\r\n data \r\n`.
    public mutating func encodeChunk(_ data: [UInt8]) -> [UInt8] {
        var out = header(size: data.count, data: data)
        out.append(contentsOf: data)
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }

    /// Frames the final empty chunk, the trailers (signed in the signed-trailer
    /// mode) and the closing blank line.
    public mutating func encodeFinal(trailers: [HTTPHeader] = []) -> [UInt8] {
        var out = header(size: 0, data: [])
        if mode.hasTrailer {
            for t in trailers {
                out.append(contentsOf: "\(t.name):\(t.value)\r\n".utf8)
            }
            if mode == .streamingSignedTrailer, var c = chain {
                let sig = c.trailerSignature(trailerDigest: SHA256.hash(ChunkSignatureChain.canonicalTrailer(trailers)))
                chain = c
                out.append(contentsOf: "x-amz-trailer-signature:\(sig)\r\n".utf8)
            }
        }
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }

    private mutating func header(size: Int, data: [UInt8]) -> [UInt8] {
        var line = String(size, radix: 16)
        if mode.hasChunkSignatures, var c = chain {
            hasher.update(data)
            line += ";chunk-signature=" + c.nextChunkSignature(dataDigest: hasher.finalize())
            chain = c
        }
        return Array((line + "\r\n").utf8)
    }
}
