import Foundation
import ReinCrypto

/// Explains why a captured request does or does not verify: the debugging
/// aid for `SignatureDoesNotMatch`. It verifies the request exactly as the
/// sidecar would, checks the body against the declared payload hash and
/// aws-chunked signatures, and optionally re-signs it with broker credentials.
public struct SigV4Explainer: Sendable {
    public let secret: String
    public let sessionToken: String?
    /// When set, the access key id the request must be signed with.
    public let expectedAccessKeyId: String?
    public let allowedClockSkew: Int64

    public init(secret: String, sessionToken: String?, expectedAccessKeyId: String? = nil, allowedClockSkew: Int64 = 900) {
        self.secret = secret
        self.sessionToken = sessionToken
        self.expectedAccessKeyId = expectedAccessKeyId
        self.allowedClockSkew = allowedClockSkew
    }

    /// Explains one raw request, verified as of `now`.
    public func explain(_ raw: RawHTTPRequest, now: Int64, resignWith broker: AWSCredentials? = nil,
                        resignHost: String? = nil) -> SigV4Explanation {
        let akid = (try? SigV4Authorization.parse(raw.request))?.accessKeyId ?? ""
        let lookup = StaticCredentialLookup(
            expectedAccessKeyId.map { $0 == akid } ?? true
                ? [AWSCredentials(accessKeyId: akid, secretAccessKey: secret, sessionToken: sessionToken)] : [])
        let verifier = SigV4Verifier(credentials: lookup, allowedClockSkew: allowedClockSkew)
        let isChunked = raw.request.firstValue("x-amz-content-sha256").map {
            (try? PayloadMode.parse($0))?.isChunked ?? false } ?? false
        let bodyDigest: Digest? = isChunked ? nil : SHA256.hash(raw.body)
        let analysis = verifier.analyze(raw.request, bodyDigest: bodyDigest, now: now)

        var e = SigV4Explanation()
        e.accessKeyId = analysis.authorization?.accessKeyId
        e.authForm = analysis.authorization?.form.rawValue
        e.scope = analysis.authorization.map { $0.scope.description }
        e.signedHeaders = analysis.authorization?.signedHeaders
        e.amzDate = analysis.amzDate
        e.payloadMode = analysis.payloadMode?.name
        e.canonicalRequest = analysis.canonicalRequest?.text
        e.stringToSign = analysis.stringToSign
        e.signature = analysis.expectedSignature
        e.receivedSignature = analysis.receivedSignature
        e.verifiedAt = AmzDate.format(now)

        var failure: SigV4Error?
        var chunks: [[UInt8]] = []
        var trailers: [HTTPHeader] = []
        switch analysis.outcome {
        case .failure(let error):
            failure = error
        case .success(let verified):
            do throws(SigV4Error) {
                (chunks, trailers) = try checkBody(raw, verified: verified, into: &e)
            } catch {
                failure = error
            }
            if failure == nil, let broker {
                let bytes = resign(raw, verified: verified, broker: broker, now: now, host: resignHost,
                                   chunks: chunks, trailers: trailers)
                e.resignedRequestBytes = bytes
                e.resignedRequest = String(validating: bytes, as: UTF8.self)
            }
        }
        e.valid = failure == nil
        e.error = failure.map { $0.awsCode(for: analysis.authorization?.scope.usesS3PathRules == false ? .query : .s3) }
        e.message = failure?.message
        return e
    }

    /// Checks the body against what the signature promised.
    private func checkBody(_ raw: RawHTTPRequest, verified: VerifiedRequest, into e: inout SigV4Explanation)
        throws(SigV4Error) -> ([[UInt8]], [HTTPHeader]) {
        switch verified.payloadMode {
        case .declaredHash(let hex):
            guard SHA256.hash(raw.body).hex == hex.lowercased() else {
                throw SigV4Error(.payloadHashMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed over the body")
            }
            return ([], [])
        case .streamingSigned, .streamingSignedTrailer, .streamingUnsignedTrailer:
            let chain = ChunkSignatureChain(signingKey: verified.signingKey, amzDate: verified.amzDate,
                                            scope: verified.scope, seedSignature: verified.seedSignature)
            var decoder = ChunkedDecoder(
                mode: verified.payloadMode, chain: chain,
                declaredTrailers: raw.request.firstValue("x-amz-trailer")?.split(separator: ",").map(String.init) ?? [],
                decodedLength: raw.request.firstValue("x-amz-decoded-content-length").flatMap { Int64($0) })
            var chunks: [[UInt8]] = [], trailers: [HTTPHeader] = []
            for event in try decoder.feed(raw.body) {
                switch event {
                case .chunk(let data): chunks.append(data)
                case .trailers(let t): trailers = t
                case .end: break
                }
            }
            try decoder.finish()
            e.chunksVerified = decoder.chunkCount
            e.decodedBytes = Int(decoder.decodedBytes)
            return (chunks, trailers)
        case .bodyHash, .unsigned:
            return ([], [])
        }
    }

    private func resign(_ raw: RawHTTPRequest, verified: VerifiedRequest, broker: AWSCredentials, now: Int64,
                        host: String?, chunks: [[UInt8]], trailers: [HTTPHeader]) -> [UInt8] {
        let signer = SigV4Signer()
        let (request, output) = signer.resign(raw.request, verified: verified, broker: broker, time: now, host: host)
        var out = raw
        out.request = request
        if verified.payloadMode.isChunked {
            let chain = ChunkSignatureChain(signingKey: output.signingKey, amzDate: AmzDate.format(now),
                                            scope: output.scope, seedSignature: output.signature)
            var encoder = ChunkedEncoder(mode: verified.payloadMode, chain: chain)
            var body: [UInt8] = []
            for c in chunks { body += encoder.encodeChunk(c) }
            body += encoder.encodeFinal(trailers: trailers)
            out.body = body
        }
        return out.serialized()
    }
}

/// The result of explaining one request; its JSON keys are the contract of
/// `rein sigv4 explain --json`.
public struct SigV4Explanation: Sendable, Encodable {
    public var valid = false
    public var error: String?
    public var message: String?
    public var accessKeyId: String?
    public var authForm: String?
    public var scope: String?
    public var signedHeaders: [String]?
    public var amzDate: String?
    public var verifiedAt: String?
    public var payloadMode: String?
    public var canonicalRequest: String?
    public var stringToSign: String?
    /// The signature Rein computed (the expected one).
    public var signature: String?
    public var receivedSignature: String?
    public var chunksVerified: Int?
    public var decodedBytes: Int?
    /// The re-signed request as text, when it is valid UTF-8 (JSON output).
    public var resignedRequest: String?
    /// The re-signed request's exact bytes (binary bodies survive).
    public var resignedRequestBytes: [UInt8]?

    enum CodingKeys: String, CodingKey {
        case valid, error, message, scope, signature
        case accessKeyId = "access_key_id", authForm = "auth_form", signedHeaders = "signed_headers"
        case amzDate = "amz_date", verifiedAt = "verified_at", payloadMode = "payload_mode"
        case canonicalRequest = "canonical_request", stringToSign = "string_to_sign"
        case receivedSignature = "received_signature", chunksVerified = "chunks_verified"
        case decodedBytes = "decoded_bytes", resignedRequest = "resigned_request"
        case resignedRequestBase64 = "resigned_request_base64"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(valid, forKey: .valid)
        // `error`, `canonical_request`, `string_to_sign` and `signature` are always present (null when unknown).
        try c.encode(error, forKey: .error)
        try c.encode(canonicalRequest, forKey: .canonicalRequest)
        try c.encode(stringToSign, forKey: .stringToSign)
        try c.encode(signature, forKey: .signature)
        try c.encodeIfPresent(message, forKey: .message)
        try c.encodeIfPresent(accessKeyId, forKey: .accessKeyId)
        try c.encodeIfPresent(authForm, forKey: .authForm)
        try c.encodeIfPresent(scope, forKey: .scope)
        try c.encodeIfPresent(signedHeaders, forKey: .signedHeaders)
        try c.encodeIfPresent(amzDate, forKey: .amzDate)
        try c.encodeIfPresent(verifiedAt, forKey: .verifiedAt)
        try c.encodeIfPresent(payloadMode, forKey: .payloadMode)
        try c.encodeIfPresent(receivedSignature, forKey: .receivedSignature)
        try c.encodeIfPresent(chunksVerified, forKey: .chunksVerified)
        try c.encodeIfPresent(decodedBytes, forKey: .decodedBytes)
        try c.encodeIfPresent(resignedRequest, forKey: .resignedRequest)
        // Base64 of the exact bytes, for bodies that are not UTF-8.
        try c.encodeIfPresent(resignedRequestBytes.map { Data($0).base64EncodedString() }, forKey: .resignedRequestBase64)
    }

    /// The human-readable report.
    public var text: String {
        var lines: [String] = []
        lines.append(valid ? "VERDICT: valid — the signature matches." : "VERDICT: INVALID — \(error ?? "error"): \(message ?? "")")
        lines.append("")
        if let accessKeyId { lines.append("Access key id:   \(accessKeyId)") }
        if let authForm { lines.append("Auth form:       \(authForm == "query" ? "presigned (query string)" : "Authorization header")") }
        if let scope { lines.append("Scope:           \(scope)") }
        if let signedHeaders { lines.append("Signed headers:  \(signedHeaders.joined(separator: ";"))") }
        if let amzDate { lines.append("Request time:    \(amzDate) (checked at \(verifiedAt ?? "?"))") }
        if let payloadMode { lines.append("Payload:         \(payloadMode)") }
        if let chunksVerified { lines.append("aws-chunked:     \(chunksVerified) chunk signature(s) verified, \(decodedBytes ?? 0) bytes") }
        if let canonicalRequest {
            lines.append("")
            lines.append("--- Canonical request (compare with your SDK's debug log) ---")
            lines.append(canonicalRequest)
        }
        if let stringToSign {
            lines.append("")
            lines.append("--- String to sign ---")
            lines.append(stringToSign)
        }
        if signature != nil || receivedSignature != nil {
            lines.append("")
            lines.append("Expected signature: \(signature ?? "(not computed)")")
            lines.append("Received signature: \(receivedSignature ?? "(none)")")
        }
        if let resignedRequestBytes {
            lines.append("")
            lines.append("--- Re-signed request (broker credentials) ---")
            lines.append(resignedRequest ?? "(\(resignedRequestBytes.count) bytes, not UTF-8: use --resign without --json for the raw bytes)")
        }
        return lines.joined(separator: "\n")
    }
}
