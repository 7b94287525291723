import ReinCrypto

/// Signs requests with SigV4, in header or presigned form, byte-for-byte as
/// botocore does for the same inputs.
public struct SigV4Signer: Sendable {
    public let keyCache: SigningKeyCache

    public init(keyCache: SigningKeyCache = SigningKeyCache()) {
        self.keyCache = keyCache
    }

    /// Which headers go into the signature.
    public enum HeaderSelection: Sendable {
        /// Every header except hop-by-hop ones and those proxies rewrite
        /// (botocore's rule).
        case allSignable
        /// Exactly these lower-case names (plus the date and token headers
        /// the signer itself sets).
        case only([String])
        /// These lower-case names, known to be present (a verified request's
        /// signed headers): no scan of the request is needed.
        case exactly([String])
    }

    /// Headers botocore never signs: hop-by-hop headers, and those that
    /// proxies and HTTP stacks add or rewrite.
    public static let unsignableHeaders: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// The result of signing, with every intermediate for explanations and tests.
    public struct Output: Sendable {
        public let canonicalRequest: CanonicalRequest
        public let stringToSign: String
        public let signature: String
        public let signedHeaders: [String]
        public let scope: CredentialScope
        /// The signing key, for signing aws-chunked chunks that follow.
        public let signingKey: HMACKey
    }

    /// Signs in the Authorization header (botocore's `SigV4Auth.add_auth`).
    /// - Parameters:
    ///   - payloadHash: used when the request has no x-amz-content-sha256.
    ///   - omitSessionToken: add the token after signing, unsigned (test-suite case).
    @discardableResult
    public func sign(
        _ request: inout SignableRequest, credentials: AWSCredentials, region: String, service: String,
        time: Int64, payloadHash: String, headers selection: HeaderSelection = .allSignable,
        normalizePath: Bool? = nil, omitSessionToken: Bool = false
    ) -> Output {
        request.removeHeader("authorization")
        let amzDate = AmzDate.format(time)
        var extra: [String] = []
        if request.firstValue("date") != nil {
            request.setHeader(HTTPHeader(name: "Date", lowercasedName: "date", value: AmzDate.formatHTTPDate(time)))
            request.removeHeader("x-amz-date")
            extra.append("date")
        } else {
            request.setHeader(HTTPHeader(name: "X-Amz-Date", lowercasedName: "x-amz-date", value: amzDate))
            extra.append("x-amz-date")
        }
        if let token = credentials.sessionToken, !omitSessionToken {
            request.setHeader(HTTPHeader(name: "X-Amz-Security-Token", lowercasedName: "x-amz-security-token", value: token))
            extra.append("x-amz-security-token")
        }
        let names = signedHeaderNames(request, selection: selection, extra: extra)
        let scope = CredentialScope(date: String(amzDate.prefix(8)), region: region, service: service)
        let output = compute(request, names: names, payloadHash: request.firstValue("x-amz-content-sha256") ?? payloadHash,
                             amzDate: amzDate, scope: scope, credentials: credentials,
                             normalizePath: normalizePath ?? !scope.usesS3PathRules, excludingQueryKey: nil)
        var authorization = "AWS4-HMAC-SHA256 Credential="
        authorization.reserveCapacity(200 + names.count * 24)
        authorization += credentials.accessKeyId
        authorization += "/"
        authorization += scope.date
        authorization += "/"
        authorization += scope.region
        authorization += "/"
        authorization += scope.service
        authorization += "/aws4_request, SignedHeaders="
        for (i, n) in names.enumerated() {
            if i > 0 { authorization += ";" }
            authorization += n
        }
        authorization += ", Signature="
        authorization += output.signature
        request.setHeader(HTTPHeader(name: "Authorization", lowercasedName: "authorization", value: authorization))
        if let token = credentials.sessionToken, omitSessionToken {
            request.setHeader("X-Amz-Security-Token", token)
        }
        return output
    }

    /// Presigns in the query string (botocore's `SigV4QueryAuth`).
    /// - Parameter payloadHash: botocore uses `UNSIGNED-PAYLOAD` for S3 and
    ///   the body's hash for other services.
    @discardableResult
    public func presign(
        _ request: inout SignableRequest, credentials: AWSCredentials, region: String, service: String,
        time: Int64, expires: Int64, payloadHash: String, headers selection: HeaderSelection = .allSignable,
        normalizePath: Bool? = nil, omitSessionToken: Bool = false
    ) -> Output {
        let amzDate = AmzDate.format(time)
        let scope = CredentialScope(date: String(amzDate.prefix(8)), region: region, service: service)
        let names = signedHeaderNames(request, selection: selection, extra: [])
        var auth: [(String, String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyId)/\(scope)"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", names.joined(separator: ";")),
        ]
        if let token = credentials.sessionToken, !omitSessionToken { auth.append(("X-Amz-Security-Token", token)) }
        let authQuery = auth.map { "\($0.0)=\(URIEncoding.encode($0.1))" }.joined(separator: "&")
        if let existing = request.query, !existing.isEmpty {
            request.query = existing + "&" + authQuery
        } else {
            request.query = authQuery
        }
        let output = compute(request, names: names, payloadHash: request.firstValue("x-amz-content-sha256") ?? payloadHash,
                             amzDate: amzDate, scope: scope, credentials: credentials,
                             normalizePath: normalizePath ?? !scope.usesS3PathRules, excludingQueryKey: nil)
        request.query = (request.query ?? "") + "&X-Amz-Signature=" + output.signature
        if let token = credentials.sessionToken, omitSessionToken {
            request.query = (request.query ?? "") + "&X-Amz-Security-Token=" + URIEncoding.encode(token)
        }
        return output
    }

    /// Re-signs a verified agent request with broker credentials, for forwarding.
    ///
    /// The agent's authentication (header or presigned query) and session
    /// token are removed; only headers the agent signed are signed again,
    /// plus the date and the broker's token. For S3, header authentication
    /// needs x-amz-content-sha256, so it is added with the payload hash that
    /// the agent's signature covered.
    /// - Parameter host: the upstream host, replacing the agent's Host header.
    public func resign(
        _ original: SignableRequest, verified: VerifiedRequest, broker: AWSCredentials, time: Int64, host: String? = nil
    ) -> (request: SignableRequest, output: Output) {
        var request = original
        request.removeHeader("authorization")
        request.removeHeader("x-amz-security-token")
        if verified.authorization.form == .query {
            request.query = Self.removingQueryAuth(request.query)
        }
        if let host { request.setHeader("Host", host) }
        var names = verified.signedHeaders.filter {
            $0 != "authorization" && $0 != "x-amz-date" && $0 != "date" && $0 != "x-amz-security-token"
        }
        var payloadHash = verified.payloadHash
        if let declared = request.firstValue("x-amz-content-sha256") {
            payloadHash = declared
        } else if verified.scope.usesS3PathRules {
            request.setHeader(HTTPHeader(name: "X-Amz-Content-SHA256", lowercasedName: "x-amz-content-sha256", value: payloadHash))
            names.append("x-amz-content-sha256")
        }
        let output = sign(&request, credentials: broker, region: verified.scope.region, service: verified.scope.service,
                          time: time, payloadHash: payloadHash, headers: .exactly(names))
        return (request, output)
    }

    /// The raw query with presigned-authentication parameters removed.
    static func removingQueryAuth(_ query: String?) -> String? {
        let kept = QueryParameter.parse(query).filter { !SigV4Authorization.queryAuthKeys.contains($0.key) }
        guard !kept.isEmpty else { return nil }
        return kept.map { $0.rawKey + ($0.rawValue.isEmpty && !$0.hadEquals ? "" : "=" + $0.rawValue) }.joined(separator: "&")
    }

    private func signedHeaderNames(_ request: SignableRequest, selection: HeaderSelection, extra: [String]) -> [String] {
        if case .exactly(let known) = selection {
            var names = known + extra
            if !isSortedAscending(names) { names.sort(by: <) }
            var unique: [String] = []
            unique.reserveCapacity(names.count)
            for n in names where unique.last != n { unique.append(n) }
            return unique
        }
        var names: [String] = []
        names.reserveCapacity(request.headers.count)
        for header in request.headers {
            let include: Bool
            switch selection {
            case .allSignable:
                include = !Self.unsignableHeaders.contains(header.lowercasedName)
            case .only(let allowed):
                include = allowed.contains(header.lowercasedName) || extra.contains(header.lowercasedName)
            case .exactly:
                include = false
            }
            if include { names.append(header.lowercasedName) }
        }
        // Header names are ASCII tokens, for which String's `<` is byte order.
        if !isSortedAscending(names) { names.sort(by: <) }
        // Repeated headers appear once.
        var unique: [String] = []
        unique.reserveCapacity(names.count)
        for n in names where unique.last != n { unique.append(n) }
        return unique
    }

    private func isSortedAscending(_ names: [String]) -> Bool {
        var i = 1
        while i < names.count {
            if !(names[i - 1] <= names[i]) { return false }
            i += 1
        }
        return true
    }

    private func compute(
        _ request: SignableRequest, names: [String], payloadHash: String, amzDate: String, scope: CredentialScope,
        credentials: AWSCredentials, normalizePath: Bool, excludingQueryKey: String?
    ) -> Output {
        let canonical = CanonicalRequest(request: request, signedHeaders: names, payloadHash: payloadHash,
                                         normalizePath: normalizePath, excludingQueryKey: excludingQueryKey)
        let sts = SigV4Verifier.stringToSign(amzDate: amzDate, scope: scope, canonical: canonical)
        let key = keyCache.signingKey(for: credentials, scope: scope)
        return Output(canonicalRequest: canonical, stringToSign: sts, signature: key.mac(sts).hex,
                      signedHeaders: names, scope: scope, signingKey: key)
    }
}
