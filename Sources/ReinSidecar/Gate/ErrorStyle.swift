import ReinCatalog
import ReinSigV4

/// The AWS error vocabulary a request expects, guessed from the service it
/// signed for, so that even a request that fails verification gets an error
/// its SDK parses (S3's XML, STS's query XML, DynamoDB's JSON, ...).
struct ErrorStyle: Sendable {
    let awsProtocol: AWSProtocol
    let signingName: String
    let service: String?
    let jsonVersion: String?

    var isS3: Bool { (service ?? signingName) == "s3" }

    var dialect: SigV4Error.Dialect {
        switch awsProtocol {
        case .restXML where signingName == "s3": return .s3
        case .json, .restJSON, .rpcV2CBOR: return .json
        default: return .query
        }
    }

    var invalidRequestCode: String { dialect == .json ? "ValidationException" : "InvalidRequest" }
    var tooLargeCode: String { isS3 ? "EntityTooLarge" : "RequestEntityTooLarge" }
    var accessDeniedCode: String {
        switch awsProtocol {
        case .ec2: return "UnauthorizedOperation"
        case .json, .restJSON, .rpcV2CBOR: return "AccessDeniedException"
        default: return "AccessDenied"
        }
    }

    static func guess(head: AgentRequestHead, catalog: ServiceCatalog) -> ErrorStyle {
        let signing = credentialService(head) ?? "s3"
        let model = catalog.services(signingName: signing).first
        var proto = model?.protocols.first ?? (signing == "s3" ? .restXML : .query)
        // A query-compatible JSON service (SQS) answers a query request in query's XML.
        if let model, model.protocols.contains(.query), proto != .query, head.firstValue("x-amz-target") == nil,
           (head.firstValue("content-type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? false)
            || head.target.contains("Action=") {
            proto = .query
        }
        return ErrorStyle(awsProtocol: proto, signingName: signing, service: model?.name, jsonVersion: model?.jsonVersion)
    }

    /// The service from `Credential=AK/date/region/service/aws4_request`, unverified:
    /// used only to choose the error format.
    static func credentialService(_ head: AgentRequestHead) -> String? {
        var credential: Substring?
        if let auth = head.firstValue("authorization"), let r = auth.range(of: "Credential=") {
            credential = auth[r.upperBound...].prefix { $0 != "," && $0 != " " }
        } else if let r = head.target.range(of: "X-Amz-Credential=") {
            credential = Substring(URIEncoding.decode(String(head.target[r.upperBound...].prefix { $0 != "&" })))
        }
        guard let parts = credential?.split(separator: "/"), parts.count == 5 else { return nil }
        let service = String(parts[3])
        guard service.count <= 64, service.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { return nil }
        return service
    }

    func error(code: String, status: Int, message: String, requestId: String) -> AWSErrorResponse {
        AWSErrorResponse.make(protocol: awsProtocol, code: code, message: message, requestId: requestId, status: status,
                              jsonVersion: jsonVersion, wrapsRestXMLError: awsProtocol == .restXML && !isS3)
    }

    /// The code SDKs treat as throttling for this protocol.
    var throttlingCode: String {
        if isS3 { return "SlowDown" }
        return dialect == .json ? "ThrottlingException" : "Throttling"
    }

    /// A retryable answer (HTTP 503 with a throttling code and `Retry-After`):
    /// boto3 (legacy and standard modes), the AWS CLI and the other SDKs
    /// retry it by default, which is what a held call needs while a person
    /// decides.
    func retryLater(message: String, requestId: String, retryAfterSeconds: Int) -> AWSErrorResponse {
        let base = error(code: throttlingCode, status: 503, message: message, requestId: requestId)
        return AWSErrorResponse(status: base.status, headers: base.headers + [("Retry-After", String(retryAfterSeconds))], body: base.body)
    }

    func accessDenied(message: String, requestId: String) -> AWSErrorResponse {
        AWSErrorResponse.accessDenied(protocol: awsProtocol, signingName: signingName, message: message,
                                      requestId: requestId, jsonVersion: jsonVersion, service: service)
    }
}
