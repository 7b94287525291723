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
        let trimmed = ASCII.trimmed(Substring(header))
        guard let space = trimmed.firstIndex(of: " ") else {
            throw unsupportedOrIncomplete(String(trimmed))
        }
        let algorithm = trimmed[..<space]
        guard algorithm == algorithm_ else { throw unsupportedOrIncomplete(String(algorithm)) }
        var credential: Substring?, signedHeaders: Substring?, signature: Substring?
        for component in trimmed[space...].split(separator: ",", omittingEmptySubsequences: false) {
            let part = ASCII.trimmed(component)
            guard let eq = part.firstIndex(of: "=") else {
                throw SigV4Error(.incompleteSignature, "Authorization header component '\(part.prefix(40))' is not of the form Key=Value")
            }
            let key = part[..<eq], value = part[part.index(after: eq)...]
            switch key {
            case "Credential" where credential == nil: credential = value
            case "SignedHeaders" where signedHeaders == nil: signedHeaders = value
            case "Signature" where signature == nil: signature = value
            case "Credential", "SignedHeaders", "Signature":
                throw SigV4Error(.incompleteSignature, "Authorization header repeats \(key)")
            default:
                throw SigV4Error(.incompleteSignature, "Authorization header has an unknown component '\(key.prefix(40))'")
            }
        }
        var missing: [String] = []
        if credential == nil { missing.append("Credential") }
        if signedHeaders == nil { missing.append("SignedHeaders") }
        if signature == nil { missing.append("Signature") }
        guard let credential, let signedHeaders, let signature else {
            throw SigV4Error(.incompleteSignature, "Authorization header requires \(missing.joined(separator: ", ")); it is missing")
        }
        guard let (akid, scope) = CredentialScope.parseCredential(credential) else {
            throw SigV4Error(.malformedCredential,
                "The Credential '\(credential.prefix(120))' is malformed; expected \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
        }
        return SigV4Authorization(
            form: .header, accessKeyId: akid, scope: scope,
            signedHeaders: try parseSignedHeaders(signedHeaders),
            signature: String(signature), expires: nil,
            sessionToken: request.firstValue("x-amz-security-token"))
    }

    private static let algorithm_: Substring = "AWS4-HMAC-SHA256"

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
        return SigV4Error(.unsupportedAlgorithm, "Unsupported authorization scheme '\(algorithm.prefix(40))': Rein accepts only AWS4-HMAC-SHA256 (SigV4)")
    }

    static func parseSignedHeaders(_ text: Substring) throws(SigV4Error) -> [String] {
        let names = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && $0 == ASCII.lowercased($0) }) else {
            throw SigV4Error(.incompleteSignature, "SignedHeaders must be a ';'-separated list of lower-case header names")
        }
        for i in 1..<names.count where !names[i - 1].utf8.lexicographicallyPrecedes(names[i].utf8) {
            throw SigV4Error(.incompleteSignature, "SignedHeaders must be sorted and unique ('\(names[i - 1])' before '\(names[i])')")
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
        guard let (akid, scope) = CredentialScope.parseCredential(Substring(credential)) else {
            throw SigV4Error(.malformedQueryAuthentication,
                "X-Amz-Credential '\(credential.prefix(120))' is malformed; expected \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
        }
        guard let expires = Int64(expiresText), expires > 0 else {
            throw SigV4Error(.malformedQueryAuthentication, "X-Amz-Expires must be a positive whole number of seconds")
        }
        guard expires <= maxPresignExpiry else {
            throw SigV4Error(.malformedQueryAuthentication, "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
        }
        return SigV4Authorization(
            form: .query, accessKeyId: akid, scope: scope,
            signedHeaders: try parseSignedHeaders(Substring(signedHeaders)),
            signature: signature, expires: expires,
            sessionToken: values["X-Amz-Security-Token"] ?? request.firstValue("x-amz-security-token"))
    }
}
