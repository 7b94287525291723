/// The authentication a request carries, from either the Authorization
/// header or presigned query parameters.
public struct SigV4Authorization: Sendable, Equatable {
    public enum Form: String, Sendable {
        case header
        case query
    }

    public let form: Form
    public let accessKeyId: String
    public let scope: CredentialScope
    /// Lower-case, sorted, unique.
    public let signedHeaders: [String]
    /// The received signature, as sent (compared in constant time).
    public let signature: String
    /// `X-Amz-Expires` for presigned requests.
    public let expires: Int64?
    /// The session token the request carries (header or query), if any.
    public let sessionToken: String?

    static let algorithm = "AWS4-HMAC-SHA256"
    static let maxPresignExpiry: Int64 = 604_800
    /// The query keys that make up presigned authentication.
    public static let queryAuthKeys: Set<String> = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
    ]

    /// Finds and parses the request's authentication.
    public static func parse(_ request: SignableRequest) throws(SigV4Error) -> SigV4Authorization {
        let authHeaders = request.values("authorization")
        let query = request.queryParameters
        let queryAlgorithm = query.first { $0.key == "X-Amz-Algorithm" }
        let sigV2Query = query.contains { $0.key == "AWSAccessKeyId" || $0.key == "Signature" && !$0.rawValue.isEmpty }

        if authHeaders.count > 1 {
            throw SigV4Error(.incompleteSignature, "The request carries more than one Authorization header")
        }
        if let header = authHeaders.first {
            if queryAlgorithm != nil {
                throw SigV4Error(.ambiguousAuthentication,
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
            }
            return try parseHeader(header, request: request)
        }
        if let queryAlgorithm {
            return try parseQuery(query, algorithm: queryAlgorithm.value, request: request)
        }
        if sigV2Query {
            throw SigV4Error(.unsupportedAlgorithm,
                "This looks like a SigV2 presigned URL. Rein accepts only AWS4-HMAC-SHA256 (SigV4); presign with signature_version='s3v4'")
        }
        throw SigV4Error(.missingAuthentication, "The request is not signed: Rein accepts only requests signed with AWS SigV4")
    }

    static func parseHeader(_ header: String, request: SignableRequest) throws(SigV4Error) -> SigV4Authorization {
        // Parsed with index loops over bytes: this runs on every request, and
        // generic String/Collection scanning costs microseconds here.
        let b = Array(header.utf8)
        var lo = 0, hi = b.count
        while lo < hi, ASCII.isWhitespace(b[lo]) { lo += 1 }
        while hi > lo, ASCII.isWhitespace(b[hi - 1]) { hi -= 1 }
        var space = lo
        while space < hi, b[space] != 0x20 { space += 1 }
        guard space < hi else { throw unsupportedOrIncomplete(String(decoding: b[lo..<hi], as: UTF8.self)) }
        guard Bytes.equal(b, lo, space, algorithmBytes) else {
            throw unsupportedOrIncomplete(String(decoding: b[lo..<space], as: UTF8.self))
        }
        var credential: Range<Int>?, signedHeaders: Range<Int>?, signature: Range<Int>?
        var start = space + 1
        while start <= hi {
            var end = start
            while end < hi, b[end] != UInt8(ascii: ",") { end += 1 }
            var a = start, z = end
            while a < z, ASCII.isWhitespace(b[a]) { a += 1 }
            while z > a, ASCII.isWhitespace(b[z - 1]) { z -= 1 }
            var eq = a
            while eq < z, b[eq] != UInt8(ascii: "=") { eq += 1 }
            guard eq < z else {
                throw SigV4Error(.incompleteSignature,
                    "Authorization header component '\(String(decoding: b[a..<min(z, a + 40)], as: UTF8.self))' is not of the form Key=Value")
            }
            let value = (eq + 1)..<z
            if Bytes.equal(b, a, eq, credentialKey) {
                guard credential == nil else { throw SigV4Error(.incompleteSignature, "Authorization header repeats Credential") }
                credential = value
            } else if Bytes.equal(b, a, eq, signedHeadersKey) {
                guard signedHeaders == nil else { throw SigV4Error(.incompleteSignature, "Authorization header repeats SignedHeaders") }
                signedHeaders = value
            } else if Bytes.equal(b, a, eq, signatureKey) {
                guard signature == nil else { throw SigV4Error(.incompleteSignature, "Authorization header repeats Signature") }
                signature = value
            } else {
                throw SigV4Error(.incompleteSignature,
                    "Authorization header has an unknown component '\(String(decoding: b[a..<min(eq, a + 40)], as: UTF8.self))'")
            }
            start = end + 1
        }
        guard let credential, let signedHeaders, let signature else {
            var missing: [String] = []
            if credential == nil { missing.append("Credential") }
            if signedHeaders == nil { missing.append("SignedHeaders") }
            if signature == nil { missing.append("Signature") }
            throw SigV4Error(.incompleteSignature, "Authorization header requires \(missing.joined(separator: ", ")); it is missing")
        }
        guard let (akid, scope) = CredentialScope.parseCredential(b[credential]) else {
            throw SigV4Error(.malformedCredential,
                "The Credential (\(b[credential].count) characters) is malformed; expected \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
        }
        return SigV4Authorization(
            form: .header, accessKeyId: akid, scope: scope,
            signedHeaders: try parseSignedHeaders(b[signedHeaders]),
            signature: String(decoding: b[signature], as: UTF8.self), expires: nil,
            sessionToken: request.firstValue("x-amz-security-token"))
    }

    private static let algorithmBytes = Array("AWS4-HMAC-SHA256".utf8)
    private static let credentialKey = Array("Credential".utf8)
    private static let signedHeadersKey = Array("SignedHeaders".utf8)
    private static let signatureKey = Array("Signature".utf8)

    static func unsupportedOrIncomplete(_ algorithm: String) -> SigV4Error {
        if algorithm.hasPrefix("AWS4-ECDSA") {
            return SigV4Error(.unsupportedAlgorithm, "SigV4a (\(algorithm)) is not supported: Rein accepts only AWS4-HMAC-SHA256")
        }
        if algorithm == "AWS" || algorithm.hasPrefix("AWS ") || algorithm.hasPrefix("AWS3") {
            return SigV4Error(.unsupportedAlgorithm, "SigV2/SigV3 signing is not supported: Rein accepts only AWS4-HMAC-SHA256 (SigV4)")
        }
        if algorithm == "AWS4-HMAC-SHA256" {
            return SigV4Error(.incompleteSignature, "Authorization header requires Credential, SignedHeaders and Signature")
        }
        return SigV4Error(.unsupportedAlgorithm, "Unsupported authorization scheme \(EchoText.word(algorithm.prefix(40))): Rein accepts only AWS4-HMAC-SHA256 (SigV4)")
    }

    static func parseSignedHeaders(_ text: ArraySlice<UInt8>) throws(SigV4Error) -> [String] {
        var names: [String] = []
        names.reserveCapacity(12)
        var start = text.startIndex
        var previous: Range<Int>?
        while start <= text.endIndex {
            var end = start
            while end < text.endIndex, text[end] != UInt8(ascii: ";") { end += 1 }
            guard end > start else {
                throw SigV4Error(.incompleteSignature, "SignedHeaders must be a ';'-separated list of lower-case header names")
            }
            for i in start..<end where (text[i] >= 0x41 && text[i] <= 0x5A) || ASCII.isWhitespace(text[i]) {
                throw SigV4Error(.incompleteSignature, "SignedHeaders must be a ';'-separated list of lower-case header names")
            }
            if let p = previous, !Bytes.lessThan(text, p, start..<end) {
                throw SigV4Error(.incompleteSignature,
                    "SignedHeaders must be sorted and unique ('\(String(decoding: text[p], as: UTF8.self))' before '\(String(decoding: text[start..<end], as: UTF8.self))')")
            }
            names.append(String(decoding: text[start..<end], as: UTF8.self))
            previous = start..<end
            start = end + 1
        }
        return names
    }

    static func parseQuery(_ query: [QueryParameter], algorithm: String, request: SignableRequest) throws(SigV4Error) -> SigV4Authorization {
        guard algorithm == Self.algorithm else { throw unsupportedOrIncomplete(algorithm) }
        var values: [String: String] = [:]
        for parameter in query {
            let key = parameter.key
            guard queryAuthKeys.contains(key) else { continue }
            if values[key] != nil {
                throw SigV4Error(.malformedQueryAuthentication, "Query parameter \(key) appears more than once")
            }
            values[key] = parameter.value
        }
        let required = ["X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]
        guard let credential = values["X-Amz-Credential"], values["X-Amz-Date"] != nil,
              let expiresText = values["X-Amz-Expires"], let signedHeaders = values["X-Amz-SignedHeaders"],
              let signature = values["X-Amz-Signature"]
        else {
            let missing = required.filter { values[$0] == nil }
            throw SigV4Error(.malformedQueryAuthentication,
                "Query-string authentication requires \(missing.joined(separator: ", ")); it is missing")
        }
        guard let (akid, scope) = CredentialScope.parseCredential(ArraySlice(credential.utf8)) else {
            throw SigV4Error(.malformedQueryAuthentication,
                "X-Amz-Credential (\(credential.count) characters) is malformed; expected \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
        }
        guard let expires = Int64(expiresText), expires > 0 else {
            throw SigV4Error(.malformedQueryAuthentication, "X-Amz-Expires must be a positive whole number of seconds")
        }
        guard expires <= maxPresignExpiry else {
            throw SigV4Error(.malformedQueryAuthentication, "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
        }
        return SigV4Authorization(
            form: .query, accessKeyId: akid, scope: scope,
            signedHeaders: try parseSignedHeaders(ArraySlice(signedHeaders.utf8)),
            signature: signature, expires: expires,
            sessionToken: values["X-Amz-Security-Token"] ?? request.firstValue("x-amz-security-token"))
    }
}
