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
    static func parseCredential(_ text: ArraySlice<UInt8>) -> (accessKeyId: String, scope: CredentialScope)? {
        var cuts: [Int] = []
        cuts.reserveCapacity(4)
        for i in text.indices where text[i] == UInt8(ascii: "/") {
            cuts.append(i)
            if cuts.count > 4 { return nil }
        }
        guard cuts.count == 4 else { return nil }
        let akid = text.startIndex..<cuts[0], date = (cuts[0] + 1)..<cuts[1]
        let region = (cuts[1] + 1)..<cuts[2], service = (cuts[2] + 1)..<cuts[3], term = (cuts[3] + 1)..<text.endIndex
        guard !akid.isEmpty, !region.isEmpty, !service.isEmpty, date.count == 8,
              text[date].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text[term].elementsEqual(terminator)
        else { return nil }
        func s(_ r: Range<Int>) -> String { String(decoding: text[r], as: UTF8.self) }
        return (s(akid), CredentialScope(date: s(date), region: s(region), service: s(service)))
    }

    private static let terminator = Array("aws4_request".utf8)

    /// Services that sign the path as sent (no dot-segment normalisation)
    /// and expect x-amz-content-sha256: the S3 family.
    public var usesS3PathRules: Bool { Self.s3StyleServices.contains(service) }

    static let s3StyleServices: Set<String> = ["s3", "s3-object-lambda", "s3-outposts", "s3express", "s3control"]
}
