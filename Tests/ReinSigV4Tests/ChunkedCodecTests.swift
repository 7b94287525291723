import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// aws-chunked decoding and re-signing: every signature is checked, the
/// first bad chunk stops the stream, and a re-encoded stream verifies under
/// the new credentials with the same framing length.
struct ChunkedCodecTests {
    static let agent = AWSCredentials(accessKeyId: "AKIDAGENT", secretAccessKey: "agent-secret")
    static let broker = AWSCredentials(accessKeyId: "AKIDBROKER", secretAccessKey: "broker-secret", sessionToken: "broker-token")
    static let scope = CredentialScope(date: "20260101", region: "eu-west-1", service: "s3")
    static let amzDate = "20260101T101010Z"
    static let seed = String(repeating: "ab", count: 32)

    static func chain(_ creds: AWSCredentials, seed: String = seed) -> ChunkSignatureChain {
        ChunkSignatureChain(signingKey: SigningKeyCache().signingKey(for: creds, scope: scope),
                            amzDate: amzDate, scope: scope, seedSignature: seed)
    }

    static let pieces: [[UInt8]] = [[UInt8](repeating: 1, count: 1000), [UInt8](repeating: 2, count: 10), [UInt8](repeating: 3, count: 333)]

    static func encode(_ mode: PayloadMode, creds: AWSCredentials = agent, trailers: [HTTPHeader] = []) -> [UInt8] {
        var encoder = ChunkedEncoder(mode: mode, chain: mode.hasChunkSignatures ? chain(creds) : nil)
        var body: [UInt8] = []
        for p in pieces { body += encoder.encodeChunk(p) }
        return body + encoder.encodeFinal(trailers: trailers)
    }

    static func decode(_ body: [UInt8], mode: PayloadMode, creds: AWSCredentials = agent, trailers: [String] = [],
                       length: Int64? = 1343, step: Int = 1) throws(SigV4Error) -> [ChunkedDecoder.Event] {
        var decoder = ChunkedDecoder(mode: mode, chain: mode.hasChunkSignatures ? chain(creds) : nil,
                                     declaredTrailers: trailers, decodedLength: length, maxChunkSize: 4096)
        var events: [ChunkedDecoder.Event] = []
        var i = 0
        while i < body.count {
            events += try decoder.feed(Array(body[i..<min(i + step, body.count)]))
            i += step
        }
        try decoder.finish()
        return events
    }

    @Test(arguments: [1, 5, 64, 100_000])
    func signedRoundTrip(step: Int) throws {
        let events = try Self.decode(Self.encode(.streamingSigned), mode: .streamingSigned, step: step)
        #expect(events == Self.pieces.map { .chunk($0) } + [.end])
    }

    @Test func signedTrailerRoundTrip() throws {
        let trailers = [HTTPHeader("x-amz-checksum-crc32c", "sOO8/Q==")]
        let body = Self.encode(.streamingSignedTrailer, trailers: trailers)
        #expect(String(decoding: body.suffix(120), as: UTF8.self).contains("x-amz-trailer-signature:"))
        let events = try Self.decode(body, mode: .streamingSignedTrailer, trailers: ["x-amz-checksum-crc32c"], step: 3)
        #expect(events == Self.pieces.map { .chunk($0) } + [.trailers(trailers), .end])
    }

    @Test func unsignedTrailerRoundTrip() throws {
        let trailers = [HTTPHeader("x-amz-checksum-crc32", "AAAAAA==")]
        let body = Self.encode(.streamingUnsignedTrailer, trailers: trailers)
        let events = try Self.decode(body, mode: .streamingUnsignedTrailer, trailers: ["x-amz-checksum-crc32"])
        #expect(events == Self.pieces.map { .chunk($0) } + [.trailers(trailers), .end])
    }

    @Test func tamperedChunkStopsAtThatChunk() throws {
        var body = Self.encode(.streamingSigned)
        // Flip one data byte of the second chunk: the first chunk takes
        // 86 (header) + 1000 + 2 bytes, the second's header 84 more.
        body[1088 + 84 + 3] ^= 0xFF
        var decoder = ChunkedDecoder(mode: .streamingSigned, chain: Self.chain(Self.agent), decodedLength: 1343)
        let first = try decoder.feed(Array(body[..<1100]))
        #expect(first == [.chunk(Self.pieces[0])]) // the good first chunk is released
        #expect(throws: SigV4Error.self) { try decoder.feed(Array(body[1100...])) }
        do {
            var again = ChunkedDecoder(mode: .streamingSigned, chain: Self.chain(Self.agent))
            _ = try again.feed(body)
            Issue.record("tampered body accepted")
        } catch {
            #expect(error.code == .chunkSignatureMismatch)
            #expect(error.message.contains("chunk 2"))
        }
    }

    @Test func wrongKeyIsRejected() {
        #expect(throws: SigV4Error.self) { try Self.decode(Self.encode(.streamingSigned), mode: .streamingSigned, creds: Self.broker) }
    }

    @Test func tamperedTrailerIsRejected() throws {
        let body = Self.encode(.streamingSignedTrailer, trailers: [HTTPHeader("x-amz-checksum-crc32c", "sOO8/Q==")])
        var text = String(decoding: body, as: UTF8.self)
        text = text.replacingOccurrences(of: "sOO8/Q==", with: "AAAAAA==")
        do {
            _ = try Self.decode(Array(text.utf8), mode: .streamingSignedTrailer, trailers: ["x-amz-checksum-crc32c"])
            Issue.record("tampered trailer accepted")
        } catch {
            #expect(error.code == .chunkSignatureMismatch)
        }
    }

    @Test func malformedBodies() {
        let good = Self.encode(.streamingSigned)
        let cases: [(String, [UInt8], Int64?)] = [
            ("truncated", Array(good.dropLast(10)), 1343),
            ("wrong decoded length", good, 1000),
            ("garbage size", Array("zz;chunk-signature=\(String(repeating: "0", count: 64))\r\n".utf8), nil),
            ("missing signature", Array("3\r\nabc\r\n".utf8), nil),
            ("oversized chunk", Array("100000;chunk-signature=\(String(repeating: "0", count: 64))\r\n".utf8), nil),
            ("trailing data", good + [0x41], 1343),
            ("LF without CR", Array("3;chunk-signature=\(String(repeating: "0", count: 64))\n".utf8), nil),
        ]
        for (name, body, length) in cases {
            do {
                _ = try Self.decode(body, mode: .streamingSigned, length: length, step: 1000)
                Issue.record("\(name): accepted")
            } catch {
                #expect(error.code == .malformedChunkedBody || error.code == .chunkSignatureMismatch, "\(name): \(error)")
            }
        }
    }

    @Test func undeclaredTrailerIsRejected() {
        let body = Self.encode(.streamingUnsignedTrailer, trailers: [HTTPHeader("x-amz-checksum-crc32", "AAAAAA==")])
        #expect(throws: SigV4Error.self) { try Self.decode(body, mode: .streamingUnsignedTrailer, trailers: ["x-amz-checksum-sha256"]) }
    }

    /// Decode under the agent's chain, re-encode under the broker's: same
    /// length, new signatures, and it verifies only under the broker.
    @Test func resigningPreservesLengthAndVerifiesUnderBroker() throws {
        let original = Self.encode(.streamingSignedTrailer, trailers: [HTTPHeader("x-amz-checksum-crc32c", "sOO8/Q==")])
        let events = try Self.decode(original, mode: .streamingSignedTrailer, trailers: ["x-amz-checksum-crc32c"])
        var encoder = ChunkedEncoder(mode: .streamingSignedTrailer, chain: Self.chain(Self.broker))
        var resigned: [UInt8] = []
        for event in events {
            switch event {
            case .chunk(let c): resigned += encoder.encodeChunk(c)
            case .trailers(let t): resigned += encoder.encodeFinal(trailers: t)
            case .end: break
            }
        }
        #expect(resigned.count == original.count)
        #expect(resigned != original)
        _ = try Self.decode(resigned, mode: .streamingSignedTrailer, creds: Self.broker, trailers: ["x-amz-checksum-crc32c"])
        #expect(throws: SigV4Error.self) {
            try Self.decode(resigned, mode: .streamingSignedTrailer, creds: Self.agent, trailers: ["x-amz-checksum-crc32c"])
        }
    }
}
