import ReinCrypto
import ReinSigV4

/// Checks (and, for aws-chunked, re-signs) a streamed request body on its
/// way to the upstream, so that no unverified byte completes a request.
///
/// Why withholding: with a declared `x-amz-content-sha256`, the body can
/// only be checked once it has all arrived. The processor keeps the latest
/// piece back until the digest matches; an upstream that never receives the
/// end of a Content-Length body never acts on it. aws-chunked bodies are
/// released chunk by chunk only after each chunk signature verifies.
///
/// One instance serves one request on one event loop, so it is not shared
/// across threads.
public final class BodyProcessor: @unchecked Sendable {
    enum Kind {
        /// UNSIGNED-PAYLOAD: nothing to check.
        case unsigned
        case declared(expectedHex: String, hasher: SHA256Hasher, held: [UInt8])
        case chunked(decoder: ChunkedDecoder, encoder: ChunkedEncoder)
    }

    private var kind: Kind
    public private(set) var bytesIn: Int64 = 0
    public private(set) var bytesOut: Int64 = 0
    private var finalFrameWritten = false

    init(kind: Kind) { self.kind = kind }

    static func unsigned() -> BodyProcessor { BodyProcessor(kind: .unsigned) }
    static func declared(_ hex: String) -> BodyProcessor {
        BodyProcessor(kind: .declared(expectedHex: hex.lowercased(), hasher: SHA256Hasher(), held: []))
    }
    static func chunked(decoder: ChunkedDecoder, encoder: ChunkedEncoder) -> BodyProcessor {
        BodyProcessor(kind: .chunked(decoder: decoder, encoder: encoder))
    }

    /// Takes the next piece of the agent's body; returns what may go upstream now.
    public func consume(_ bytes: [UInt8]) throws(SigV4Error) -> [UInt8] {
        bytesIn += Int64(bytes.count)
        let out: [UInt8]
        switch kind {
        case .unsigned:
            out = bytes
        case .declared(let expected, let hasher, let held):
            hasher.update(bytes)
            kind = .declared(expectedHex: expected, hasher: hasher, held: bytes)
            out = held
        case .chunked(var decoder, var encoder):
            let events = try decoder.feed(bytes)
            var framed: [UInt8] = []
            for event in events {
                switch event {
                case .chunk(let data):
                    framed += encoder.encodeChunk(data)
                case .trailers(let trailers):
                    framed += encoder.encodeFinal(trailers: trailers)
                    finalFrameWritten = true
                case .end:
                    // Written with the trailers, or here when the mode has none.
                    if !finalFrameWritten { framed += encoder.encodeFinal() }
                    finalFrameWritten = true
                }
            }
            kind = .chunked(decoder: decoder, encoder: encoder)
            out = framed
        }
        bytesOut += Int64(out.count)
        return out
    }

    /// The body ended; returns the last bytes to send, or throws when the
    /// body does not match what the agent signed.
    public func finish() throws(SigV4Error) -> [UInt8] {
        let out: [UInt8]
        switch kind {
        case .unsigned:
            out = []
        case .declared(let expected, let hasher, let held):
            let actual = hasher.finalize().hex
            guard ConstantTime.equals(actual, expected) else {
                throw SigV4Error(.payloadHashMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
            kind = .declared(expectedHex: expected, hasher: hasher, held: [])
            out = held
        case .chunked(let decoder, _):
            try decoder.finish()
            out = []
        }
        bytesOut += Int64(out.count)
        return out
    }
}
