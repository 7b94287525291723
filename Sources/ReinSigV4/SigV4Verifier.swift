import ReinCrypto

/// Verifies SigV4-signed requests against a credential lookup.
///
/// Beyond the signature it enforces what AWS enforces: the clock skew window,
/// presign expiry, session tokens, and that `host` and every `x-amz-*`
/// header are signed. The last rule matters to Rein in particular: a header
/// the agent did not sign must never be laundered into the broker's
/// signature when the request is re-signed.
public struct SigV4Verifier: Sendable {
    public let credentials: any CredentialLookup
    public let keyCache: SigningKeyCache
    /// Permitted difference between request time and `now`, in seconds (AWS: 15 minutes).
    public let allowedClockSkew: Int64

    public init(credentials: any CredentialLookup, keyCache: SigningKeyCache = SigningKeyCache(), allowedClockSkew: Int64 = 900) {
        self.credentials = credentials
        self.keyCache = keyCache
        self.allowedClockSkew = allowedClockSkew
    }

    /// Verifies a request.
    /// - Parameters:
    ///   - bodyDigest: the SHA-256 of the body as received; needed only when
    ///     the signature covers the body (no x-amz-content-sha256 header).
    ///   - now: the current time, seconds since the epoch (injected for tests
    ///     and for `rein sigv4 explain --at`).
    ///   - normalizePath: overrides the path rule that the service implies.
    public func verify(_ request: SignableRequest, bodyDigest: Digest?, now: Int64, normalizePath: Bool? = nil) throws(SigV4Error) -> VerifiedRequest {
        try analyze(request, bodyDigest: bodyDigest, now: now, normalizePath: normalizePath).outcome.get()
    }

    /// Verifies a request and keeps every intermediate, for explanations.
    public func analyze(_ request: SignableRequest, bodyDigest: Digest?, now: Int64, normalizePath: Bool? = nil) -> SigV4Analysis {
        var analysis = SigV4Analysis()
        do throws(SigV4Error) {
            let verified = try evaluate(request, bodyDigest: bodyDigest, now: now, normalizePath: normalizePath, into: &analysis)
            analysis.outcome = .success(verified)
        } catch {
            analysis.outcome = .failure(error)
        }
        return analysis
    }

    private func evaluate(
        _ request: SignableRequest, bodyDigest: Digest?, now: Int64, normalizePath: Bool?,
        into analysis: inout SigV4Analysis
    ) throws(SigV4Error) -> VerifiedRequest {
        let auth = try SigV4Authorization.parse(request)
        analysis.authorization = auth
        analysis.receivedSignature = auth.signature

        let (time, amzDate) = try requestTime(request, auth: auth)
        analysis.amzDate = amzDate
        guard amzDate.utf8.prefix(8).elementsEqual(auth.scope.date.utf8) else {
            throw SigV4Error(.malformedCredential,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(auth.scope.date)' != '\(amzDate.prefix(8))'")
        }
        try checkTime(time, amzDate: amzDate, auth: auth, now: now)

        guard let creds = credentials.credentials(forAccessKeyId: auth.accessKeyId) else {
            throw SigV4Error(.unknownAccessKey, "The access key id \(EchoText.shownAccessKeyId(auth.accessKeyId)) is not known to this Rein sidecar; sign with the credentials it issued")
        }
        try checkToken(auth.sessionToken, expected: creds.sessionToken)
        try checkSignedHeaders(request, auth: auth)

        let payloadHeader: String?
        switch request.singleValue("x-amz-content-sha256") {
        case .multiple: throw SigV4Error(.invalidPayloadHash, "x-amz-content-sha256 appears more than once")
        case .absent: payloadHeader = nil
        case .one(let v): payloadHeader = v
        }
        var mode = try PayloadMode.parse(payloadHeader)
        let payloadHash: String
        switch mode {
        case .declaredHash(let hex): payloadHash = hex
        case .unsigned: payloadHash = PayloadMode.unsignedPayload
        case .streamingSigned, .streamingSignedTrailer, .streamingUnsignedTrailer: payloadHash = payloadHeader ?? ""
        case .bodyHash:
            if auth.form == .query && auth.scope.usesS3PathRules {
                mode = .unsigned
                payloadHash = PayloadMode.unsignedPayload
            } else if let bodyDigest {
                payloadHash = bodyDigest.hex
            } else {
                throw SigV4Error(.invalidPayloadHash, "The signature covers the body, but no body hash was supplied to the verifier")
            }
        }
        analysis.payloadMode = mode

        let canonical = CanonicalRequest(
            request: request, signedHeaders: auth.signedHeaders, payloadHash: payloadHash,
            normalizePath: normalizePath ?? !auth.scope.usesS3PathRules,
            excludingQueryKey: auth.form == .query ? "X-Amz-Signature" : nil)
        analysis.canonicalRequest = canonical
        let stringToSign = Self.stringToSign(amzDate: amzDate, scope: auth.scope, canonical: canonical)
        analysis.stringToSign = stringToSign

        let key = keyCache.signingKey(for: creds, scope: auth.scope)
        let expected = key.mac(stringToSign)
        analysis.expectedSignature = expected.hex
        // Compared as the lower-case hex text AWS defines, in constant time.
        guard ConstantTime.equals(auth.signature, analysis.expectedSignature ?? "") else {
            throw SigV4Error(.signatureMismatch,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method (run `rein sigv4 explain` on the captured request)")
        }
        return VerifiedRequest(
            authorization: auth, requestTime: time, amzDate: amzDate, payloadMode: mode,
            payloadHash: payloadHash, canonicalRequest: canonical, stringToSign: stringToSign, signingKey: key)
    }

    public static func stringToSign(amzDate: String, scope: CredentialScope, canonical: CanonicalRequest) -> String {
        var s = "AWS4-HMAC-SHA256\n"
        s.reserveCapacity(32 + 17 + 64 + 64)
        s += amzDate
        s += "\n"
        s += scope.date
        s += "/"
        s += scope.region
        s += "/"
        s += scope.service
        s += "/aws4_request\n"
        s += SHA256.hash(canonical.bytes).hex
        return s
    }

    private func requestTime(_ request: SignableRequest, auth: SigV4Authorization) throws(SigV4Error) -> (Int64, String) {
        if auth.form == .query {
            let text = request.queryParameters.first { $0.key == "X-Amz-Date" }?.value ?? ""
            guard let t = AmzDate.parse(text) else {
                throw SigV4Error(.malformedQueryAuthentication, "X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'")
            }
            return (t, text)
        }
        let amz = request.singleValue("x-amz-date")
        if case .multiple = amz { throw SigV4Error(.malformedDate, "x-amz-date appears more than once") }
        if case .one(let text) = amz {
            guard let t = AmzDate.parse(text) else {
                throw SigV4Error(.malformedDate, "x-amz-date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'")
            }
            return (t, text)
        }
        let dates = request.values("date")
        guard dates.count == 1, let t = AmzDate.parseHTTPDate(dates[0]) else {
            throw SigV4Error(.malformedDate, "AWS authentication requires a valid Date or x-amz-date header")
        }
        return (t, AmzDate.format(t))
    }

    private func checkTime(_ time: Int64, amzDate: String, auth: SigV4Authorization, now: Int64) throws(SigV4Error) {
        if let expires = auth.expires {
            if now + allowedClockSkew < time {
                throw SigV4Error(.presignExpired, "Request is not yet valid: X-Amz-Date \(amzDate) is in the future")
            }
            if now > time + expires {
                throw SigV4Error(.presignExpired, "Request has expired: X-Amz-Date \(amzDate) plus X-Amz-Expires \(expires)s is before now (\(AmzDate.format(now)))")
            }
            return
        }
        if abs(now - time) > allowedClockSkew {
            throw SigV4Error(.requestTimeTooSkewed,
                "The difference between the request time (\(amzDate)) and the current time (\(AmzDate.format(now))) is too large; the limit is \(allowedClockSkew)s")
        }
    }

    private func checkToken(_ received: String?, expected: String?) throws(SigV4Error) {
        switch (received, expected) {
        case (nil, nil): return
        case (nil, .some):
            throw SigV4Error(.invalidToken, "These credentials need a session token (x-amz-security-token), and the request has none")
        case (.some, nil):
            throw SigV4Error(.invalidToken, "The request carries a session token, but its access key has none")
        case let (.some(r), .some(e)):
            guard ConstantTime.equals(r, e) else {
                throw SigV4Error(.invalidToken, "The security token included in the request is invalid")
            }
        }
    }

    private func checkSignedHeaders(_ request: SignableRequest, auth: SigV4Authorization) throws(SigV4Error) {
        // Signed-header lists are short (about ten names): linear scans beat hashing.
        let signed = auth.signedHeaders
        guard signed.contains("host") else {
            throw SigV4Error(.unsignedHeader, "The host header must be signed (it is missing from SignedHeaders)")
        }
        if signed.contains("authorization") {
            throw SigV4Error(.incompleteSignature, "SignedHeaders must not include authorization")
        }
        for name in signed where !request.headers.contains(where: { $0.hasName(name) }) {
            throw SigV4Error(.missingSignedHeader, "Header '\(name)' is listed in SignedHeaders but is not in the request")
        }
        for header in request.headers where ASCII.hasPrefix(header.lowercasedName, "x-amz-") && !signed.contains(header.lowercasedName) {
            throw SigV4Error(.unsignedHeader, "There were headers present in the request which were not signed: \(header.lowercasedName)")
        }
    }
}

/// Every intermediate of one verification, for `rein sigv4 explain`.
public struct SigV4Analysis: Sendable {
    public var authorization: SigV4Authorization?
    public var amzDate: String?
    public var payloadMode: PayloadMode?
    public var canonicalRequest: CanonicalRequest?
    public var stringToSign: String?
    public var expectedSignature: String?
    public var receivedSignature: String?
    public var outcome: Result<VerifiedRequest, SigV4Error> = .failure(SigV4Error(.missingAuthentication, "not evaluated"))
}
