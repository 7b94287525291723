import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// The S3 worked examples from ../shared/testdata/s3-chunked-example.md:
/// aws-chunked upload (seed, chunk and trailer signatures), presigned GET,
/// and the header-auth examples; plus a real boto3 capture.
struct S3ExampleTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let time: Int64 = AmzDate.parse("20130524T000000Z")!
    static let verifier = SigV4Verifier(credentials: StaticCredentialLookup([credentials]))

    static func chunkedUploadRequest() -> SignableRequest {
        SignableRequest(method: "PUT", target: "/examplebucket/chunkObject.txt", headers: [
            HTTPHeader("Host", "s3.amazonaws.com"),
            HTTPHeader("x-amz-date", "20130524T000000Z"),
            HTTPHeader("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            HTTPHeader("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            HTTPHeader("Content-Encoding", "aws-chunked"),
            HTTPHeader("x-amz-decoded-content-length", "66560"),
            HTTPHeader("Content-Length", "66824"),
        ])
    }

    @Test func chunkedUploadSeedAndChunkSignatures() throws {
        var request = Self.chunkedUploadRequest()
        let out = SigV4Signer().sign(&request, credentials: Self.credentials, region: "us-east-1", service: "s3",
                                     time: Self.time, payloadHash: "unused")
        #expect(SHA256.hash(out.canonicalRequest.bytes).hex == "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455")
        #expect(out.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")

        var chain = ChunkSignatureChain(signingKey: out.signingKey, amzDate: "20130524T000000Z",
                                        scope: out.scope, seedSignature: out.signature)
        var encoder = ChunkedEncoder(mode: .streamingSigned, chain: chain)
        let body = encoder.encodeChunk([UInt8](repeating: 0x61, count: 65536))
            + encoder.encodeChunk([UInt8](repeating: 0x61, count: 1024))
            + encoder.encodeFinal()
        #expect(body.count == 66824)
        let expected = Array("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".utf8)
            + [UInt8](repeating: 0x61, count: 65536) + Array("\r\n".utf8)
            + Array("400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".utf8)
            + [UInt8](repeating: 0x61, count: 1024) + Array("\r\n".utf8)
            + Array("0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".utf8)
        #expect(body == expected)

        // The trailer vector (aws-c-auth): the chain continues from the final chunk signature.
        _ = chain.nextChunkSignature(dataDigest: SHA256.hash([UInt8](repeating: 0x61, count: 65536)))
        _ = chain.nextChunkSignature(dataDigest: SHA256.hash([UInt8](repeating: 0x61, count: 1024)))
        #expect(chain.nextChunkSignature(dataDigest: SHA256.hash([UInt8]())) == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
        let trailers = [HTTPHeader("first", "1st"), HTTPHeader("second", "2nd"), HTTPHeader("third", "3rd")]
        let canonical = ChunkSignatureChain.canonicalTrailer(trailers)
        #expect(SHA256.hash(canonical).hex == "83d8f190334fb741bc8daf73c891689d320bd8017756bc730c540021ed48001f")
        #expect(chain.trailerSignature(trailerDigest: SHA256.hash(canonical)) == "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c")
    }

    @Test func chunkedUploadVerifiesAndDecodes() throws {
        var request = Self.chunkedUploadRequest()
        let out = SigV4Signer().sign(&request, credentials: Self.credentials, region: "us-east-1", service: "s3",
                                     time: Self.time, payloadHash: "unused")
        var encoder = ChunkedEncoder(mode: .streamingSigned, chain: ChunkSignatureChain(
            signingKey: out.signingKey, amzDate: "20130524T000000Z", scope: out.scope, seedSignature: out.signature))
        let body = encoder.encodeChunk([UInt8](repeating: 0x61, count: 65536))
            + encoder.encodeChunk([UInt8](repeating: 0x61, count: 1024)) + encoder.encodeFinal()

        let verified = try Self.verifier.verify(request, bodyDigest: nil, now: Self.time)
        #expect(verified.payloadMode == .streamingSigned)
        var decoder = ChunkedDecoder(mode: verified.payloadMode, chain: ChunkSignatureChain(
            signingKey: verified.signingKey, amzDate: verified.amzDate, scope: verified.scope,
            seedSignature: verified.seedSignature), decodedLength: 66560)
        // Feed in awkward slices (7 bytes at a time) to exercise the incremental parser.
        var data: [UInt8] = []
        var ended = false
        var i = 0
        while i < body.count {
            for event in try decoder.feed(Array(body[i..<min(i + 7, body.count)])) {
                switch event {
                case .chunk(let c): data += c
                case .trailers: Issue.record("no trailers expected")
                case .end: ended = true
                }
            }
            i += 7
        }
        try decoder.finish()
        #expect(ended)
        #expect(data == [UInt8](repeating: 0x61, count: 66560))
        #expect(decoder.chunkCount == 3)
    }

    @Test func presignedGet() throws {
        var request = SignableRequest(method: "GET", target: "/test.txt",
                                      headers: [HTTPHeader("Host", "examplebucket.s3.amazonaws.com")])
        let out = SigV4Signer().presign(&request, credentials: Self.credentials, region: "us-east-1", service: "s3",
                                        time: Self.time, expires: 86400, payloadHash: PayloadMode.unsignedPayload)
        #expect(SHA256.hash(out.canonicalRequest.bytes).hex == "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
        #expect(out.signature == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        #expect(request.query == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        // The URL from the example verifies (S3 presigned: UNSIGNED-PAYLOAD, no body hash needed) ...
        let verified = try Self.verifier.verify(request, bodyDigest: nil, now: Self.time + 86000)
        #expect(verified.payloadMode == .unsigned)
        // ... and is refused once X-Amz-Expires has passed.
        #expect(Self.verifier.analyze(request, bodyDigest: nil, now: Self.time + 86401).outcome.failureValue?.code == .presignExpired)
    }

    struct HeaderExample: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let target: String
        let headers: [(String, String)]
        let body: String
        let canonicalPath: String?
        let signature: String
        var testDescription: String { name }
    }

    static let headerExamples: [HeaderExample] = [
        HeaderExample(name: "GET Object", method: "GET", target: "/test.txt",
                      headers: [("Range", "bytes=0-9"), ("x-amz-content-sha256", SHA256.emptyHex)], body: "",
                      canonicalPath: nil, signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        HeaderExample(name: "PUT Object", method: "PUT", target: "/test$file.text",
                      headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                                ("x-amz-content-sha256", SHA256.hash("Welcome to Amazon S3.").hex)],
                      body: "Welcome to Amazon S3.", canonicalPath: "/test%24file.text",
                      signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        HeaderExample(name: "GET Bucket lifecycle", method: "GET", target: "/?lifecycle",
                      headers: [("x-amz-content-sha256", SHA256.emptyHex)], body: "", canonicalPath: nil,
                      signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        HeaderExample(name: "GET Bucket (list)", method: "GET", target: "/?max-keys=2&prefix=J",
                      headers: [("x-amz-content-sha256", SHA256.emptyHex)], body: "", canonicalPath: nil,
                      signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    @Test(arguments: headerExamples)
    func headerAuthExample(_ example: HeaderExample) throws {
        var headers = [HTTPHeader("Host", "examplebucket.s3.amazonaws.com")]
        headers += example.headers.map { HTTPHeader($0.0, $0.1) }
        headers.append(HTTPHeader("x-amz-date", "20130524T000000Z"))
        var request = SignableRequest(method: example.method, target: example.target, headers: headers)
        // The Date example signs both Date and x-amz-date; the signer keeps the
        // given headers and only adds the Authorization header here.
        let names = Set(headers.map(\.lowercasedName))
        let key = SigningKeyCache().signingKey(for: Self.credentials, scope: CredentialScope(date: "20130524", region: "us-east-1", service: "s3"))
        let canonical = CanonicalRequest(request: request, signedHeaders: names.sorted(), payloadHash: request.firstValue("x-amz-content-sha256")!,
                                         normalizePath: false)
        if let path = example.canonicalPath { #expect(canonical.text.split(separator: "\n")[1] == path) }
        let sts = SigV4Verifier.stringToSign(amzDate: "20130524T000000Z", scope: CredentialScope(date: "20130524", region: "us-east-1", service: "s3"), canonical: canonical)
        #expect(key.mac(sts).hex == example.signature)
        // The same request, with that signature, verifies.
        request.setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(names.sorted().joined(separator: ";")),Signature=\(example.signature)")
        let verified = try Self.verifier.verify(request, bodyDigest: SHA256.hash(Array(example.body.utf8)), now: Self.time)
        #expect(verified.signedHeaders == names.sorted())
    }

    /// The exact bytes boto3 1.43.11 sent for a PutObject over TLS:
    /// STREAMING-UNSIGNED-PAYLOAD-TRAILER inside Transfer-Encoding: chunked.
    @Test func botocoreWireCaptureVerifiesAndDecodes() throws {
        let bytes = try TestData.bytes(TestData.sharedTestData.appendingPathComponent("botocore-1.43.11-https-putobject-wire.bin"))
        let raw = try RawHTTPRequest.parse(bytes)
        let amzDate = try #require(raw.request.firstValue("x-amz-date"))
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([AWSCredentials(accessKeyId: "AKIDTEST", secretAccessKey: "testsecret")]))
        let verified = try verifier.verify(raw.request, bodyDigest: nil, now: AmzDate.parse(amzDate)!)
        #expect(verified.payloadMode == .streamingUnsignedTrailer)
        var decoder = ChunkedDecoder(mode: verified.payloadMode, chain: nil,
                                     declaredTrailers: [raw.request.firstValue("x-amz-trailer") ?? ""],
                                     decodedLength: raw.request.firstValue("x-amz-decoded-content-length").flatMap { Int64($0) })
        let events = try decoder.feed(raw.body)
        try decoder.finish()
        #expect(events == [.chunk(Array("hello over tls".utf8)), .trailers([HTTPHeader("x-amz-checksum-crc32", "Br5oYg==")]), .end])
        // A wrong secret is refused.
        let wrong = SigV4Verifier(credentials: StaticCredentialLookup([AWSCredentials(accessKeyId: "AKIDTEST", secretAccessKey: "nope")]))
        #expect(wrong.analyze(raw.request, bodyDigest: nil, now: AmzDate.parse(amzDate)!).outcome.failureValue?.code == .signatureMismatch)
    }
}
