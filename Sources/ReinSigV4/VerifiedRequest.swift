import ReinCrypto

/// What a successful SigV4 verification proved about a request.
public struct VerifiedRequest: Sendable {
    public let authorization: SigV4Authorization
    /// The request time, seconds since the epoch.
    public let requestTime: Int64
    /// The request time in `yyyyMMdd'T'HHmmss'Z'` form, as signed.
    public let amzDate: String
    public let payloadMode: PayloadMode
    /// The payload hash that the canonical request carried.
    public let payloadHash: String
    public let canonicalRequest: CanonicalRequest
    public let stringToSign: String
    /// The agent's signing key, needed to verify aws-chunked chunk signatures.
    public let signingKey: HMACKey

    public var scope: CredentialScope { authorization.scope }
    public var signedHeaders: [String] { authorization.signedHeaders }
    /// The seed signature that the first aws-chunked chunk chains from.
    public var seedSignature: String { authorization.signature }
}
