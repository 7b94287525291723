/// `yyyymmdd/region/service/aws4_request`: what a signing key is bound to.
public struct CredentialScope: Sendable, Hashable, CustomStringConvertible {
    public let date: String
    public let region: String
    public let service: String

    public init(date: String, region: String, service: String) {
        self.date = date
        self.region = region
        self.service = service
    }

    public var description: String { "\(date)/\(region)/\(service)/aws4_request" }

    /// Parses `AKID/yyyymmdd/region/service/aws4_request`.
    static func parseCredential(_ text: Substring) -> (accessKeyId: String, scope: CredentialScope)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[4] == "aws4_request",
              !parts[0].isEmpty, !parts[2].isEmpty, !parts[3].isEmpty,
              parts[1].utf8.count == 8, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return (String(parts[0]), CredentialScope(date: String(parts[1]), region: String(parts[2]), service: String(parts[3])))
    }

    /// Services that sign the path as sent (no dot-segment normalisation)
    /// and expect x-amz-content-sha256: the S3 family.
    public var usesS3PathRules: Bool { Self.s3StyleServices.contains(service) }

    static let s3StyleServices: Set<String> = ["s3", "s3-object-lambda", "s3-outposts", "s3express", "s3control"]
}
