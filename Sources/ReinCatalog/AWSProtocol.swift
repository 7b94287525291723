/// The wire protocols AWS services speak (botocore's names). Routing,
/// input extraction and error shapes all depend on it.
public enum AWSProtocol: String, Sendable, Codable, CaseIterable {
    case json
    case restJSON = "rest-json"
    case restXML = "rest-xml"
    case query
    case ec2
    case rpcV2CBOR = "smithy-rpc-v2-cbor"

    /// Whether operations are selected by HTTP method and URI template.
    public var isREST: Bool { self == .restJSON || self == .restXML }
}
