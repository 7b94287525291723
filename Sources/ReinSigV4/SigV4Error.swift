/// Why a request failed SigV4 authentication, with a message an operator
/// can act on. Messages never contain secrets, tokens or expected signatures.
///
/// Each code maps to the error AWS itself would send, per protocol dialect,
/// so that SDKs raise the exception their users already know.
public struct SigV4Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// No SigV4 authentication at all (anonymous request).
        case missingAuthentication
        /// SigV2, SigV4a or another scheme Rein does not accept.
        case unsupportedAlgorithm
        /// Both header and query-string authentication in one request.
        case ambiguousAuthentication
        /// A required component of the Authorization header is missing or garbled.
        case incompleteSignature
        /// The credential scope is malformed, or disagrees with the request date.
        case malformedCredential
        /// Presigned query parameters are missing or invalid.
        case malformedQueryAuthentication
        /// Neither X-Amz-Date nor Date carries a valid time.
        case malformedDate
        /// The access key id is not known to this verifier.
        case unknownAccessKey
        /// The session token is missing, unexpected or wrong.
        case invalidToken
        /// The request time is outside the permitted clock skew.
        case requestTimeTooSkewed
        /// A presigned URL past its expiry, or not yet valid.
        case presignExpired
        /// `host` or an `x-amz-*` header is present but not signed.
        case unsignedHeader
        /// A header named in SignedHeaders is absent from the request.
        case missingSignedHeader
        /// x-amz-content-sha256 holds neither a hash nor a known mode.
        case invalidPayloadHash
        /// The body does not hash to the declared x-amz-content-sha256.
        case payloadHashMismatch
        /// The computed signature differs from the one sent.
        case signatureMismatch
        /// An aws-chunked chunk or trailer signature is wrong.
        case chunkSignatureMismatch
        /// An aws-chunked body is malformed, truncated or too large.
        case malformedChunkedBody
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(awsCode(for: .s3)): \(message)" }

    /// The protocol family whose error vocabulary an answer must use.
    public enum Dialect: Sendable {
        /// S3 and S3 Control (rest-xml with S3's own codes).
        case s3
        /// query and ec2 protocols (STS, SQS, SNS, IAM, EC2, ...).
        case query
        /// json and rest-json protocols (DynamoDB, Lambda, ...).
        case json
    }

    /// The error code AWS sends for this failure in the given dialect.
    public func awsCode(for dialect: Dialect) -> String {
        switch (code, dialect) {
        case (.missingAuthentication, .s3): return "AccessDenied"
        case (.missingAuthentication, .query): return "MissingAuthenticationToken"
        case (.missingAuthentication, .json): return "MissingAuthenticationTokenException"
        case (.unsupportedAlgorithm, .s3), (.ambiguousAuthentication, .s3): return "InvalidRequest"
        case (.unsupportedAlgorithm, .query), (.ambiguousAuthentication, .query): return "IncompleteSignature"
        case (.unsupportedAlgorithm, .json), (.ambiguousAuthentication, .json): return "IncompleteSignatureException"
        case (.incompleteSignature, .s3), (.malformedCredential, .s3): return "AuthorizationHeaderMalformed"
        case (.malformedQueryAuthentication, .s3): return "AuthorizationQueryParametersError"
        case (.incompleteSignature, .query), (.malformedCredential, .query),
             (.malformedQueryAuthentication, .query): return "IncompleteSignature"
        case (.incompleteSignature, .json), (.malformedCredential, .json),
             (.malformedQueryAuthentication, .json): return "IncompleteSignatureException"
        case (.malformedDate, .s3): return "AccessDenied"
        case (.malformedDate, .query): return "IncompleteSignature"
        case (.malformedDate, .json): return "IncompleteSignatureException"
        case (.unknownAccessKey, .s3): return "InvalidAccessKeyId"
        case (.unknownAccessKey, .query): return "InvalidClientTokenId"
        case (.unknownAccessKey, .json): return "UnrecognizedClientException"
        case (.invalidToken, .s3): return "InvalidToken"
        case (.invalidToken, .query): return "InvalidClientTokenId"
        case (.invalidToken, .json): return "UnrecognizedClientException"
        case (.requestTimeTooSkewed, .s3): return "RequestTimeTooSkewed"
        case (.requestTimeTooSkewed, .query): return "RequestExpired"
        case (.requestTimeTooSkewed, .json): return "InvalidSignatureException"
        case (.presignExpired, .json), (.unsignedHeader, .json), (.missingSignedHeader, .json):
            return "AccessDeniedException"
        case (.presignExpired, _), (.unsignedHeader, _), (.missingSignedHeader, _): return "AccessDenied"
        case (.invalidPayloadHash, .s3): return "InvalidArgument"
        case (.invalidPayloadHash, .query), (.invalidPayloadHash, .json): return "InvalidRequest"
        case (.payloadHashMismatch, _): return "XAmzContentSHA256Mismatch"
        case (.signatureMismatch, .json), (.chunkSignatureMismatch, .json): return "InvalidSignatureException"
        case (.signatureMismatch, _), (.chunkSignatureMismatch, _): return "SignatureDoesNotMatch"
        case (.malformedChunkedBody, .s3): return "IncompleteBody"
        case (.malformedChunkedBody, _): return "InvalidRequest"
        }
    }

    /// The HTTP status AWS pairs with the code.
    public func httpStatus(for dialect: Dialect) -> Int {
        switch code {
        case .unsupportedAlgorithm, .ambiguousAuthentication, .incompleteSignature, .malformedCredential,
             .malformedQueryAuthentication, .invalidPayloadHash, .payloadHashMismatch, .malformedChunkedBody:
            return 400
        case .invalidToken:
            return dialect == .s3 ? 400 : 403
        case .unknownAccessKey, .signatureMismatch, .chunkSignatureMismatch, .requestTimeTooSkewed:
            return dialect == .json ? 400 : 403
        case .missingAuthentication, .malformedDate, .presignExpired, .unsignedHeader, .missingSignedHeader:
            return 403
        }
    }
}
