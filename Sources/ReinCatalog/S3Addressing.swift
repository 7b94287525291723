/// How an S3-family request names its bucket: in the path, in a
/// virtual-hosted name, or through an access point host.
struct S3Addressing: Sendable, Equatable {
    enum Style: Sendable, Equatable {
        /// The bucket is the first path segment (or there is none).
        case path
        /// `bucket.s3[.region].amazonaws.com`: the bucket comes from the host.
        case virtualHost(bucket: String)
        /// `name-account.s3-accesspoint.region.amazonaws.com`.
        case accessPoint(name: String, account: String)
        /// `account.s3-control.region.amazonaws.com`.
        case control(account: String)
    }

    let style: Style
    /// The region the host names, if it names one.
    let hostRegion: String?

    /// Reads an S3 host; hosts outside AWS (an endpoint override) are path style.
    static func parse(host: String?) -> S3Addressing {
        guard let host, let suffix = awsSuffix(host) else { return S3Addressing(style: .path, hostRegion: nil) }
        // The common path-style endpoints, without splitting: s3.REGION.amazonaws.com, s3.amazonaws.com.
        if host.utf8.starts(with: "s3.".utf8) {
            let middle = host.dropFirst(3).dropLast(suffix.count)
            if middle.isEmpty { return S3Addressing(style: .path, hostRegion: nil) }
            if !middle.utf8.contains(UInt8(ascii: ".")) { return S3Addressing(style: .path, hostRegion: String(middle)) }
        }
        let name = String(host.dropLast(suffix.count)) // e.g. "bucket.s3.us-east-1"
        let labels = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // Find the S3 service label, scanning from the right: bucket names may contain dots.
        for i in stride(from: labels.count - 1, through: 0, by: -1) {
            let label = labels[i]
            let rest = Array(labels[(i + 1)...])
            let region = rest.last(where: { $0 != "dualstack" && !$0.hasPrefix("fips") })
            if label == "s3-accesspoint" || label == "s3-accesspoint-fips" {
                guard i >= 1, let dash = labels[i - 1].lastIndex(of: "-") else { continue }
                let prefix = labels[..<(i - 1)].joined(separator: ".")
                let ap = labels[i - 1]
                let apName = (prefix.isEmpty ? "" : prefix + ".") + String(ap[..<dash])
                return S3Addressing(style: .accessPoint(name: apName, account: String(ap[ap.index(after: dash)...])), hostRegion: region)
            }
            if label == "s3-control" || label == "s3-control-fips" {
                let account = labels[..<i].joined(separator: ".")
                return S3Addressing(style: account.isEmpty ? .path : .control(account: account), hostRegion: region)
            }
            if label == "s3" || label == "s3-fips" || (label.hasPrefix("s3-") && rest.isEmpty && label.count > 3) {
                let legacyRegion = label.hasPrefix("s3-") && label != "s3-fips" ? String(label.dropFirst(3)) : nil
                let bucket = labels[..<i].joined(separator: ".")
                return S3Addressing(style: bucket.isEmpty ? .path : .virtualHost(bucket: bucket), hostRegion: legacyRegion ?? region)
            }
        }
        return S3Addressing(style: .path, hostRegion: nil)
    }

    /// The AWS DNS suffix of a host, if it is an AWS endpoint.
    static func awsSuffix(_ host: String) -> String? {
        for suffix in [".amazonaws.com.cn", ".amazonaws.com", ".api.aws", ".api.amazonwebservices.com.cn"] where host.hasSuffix(suffix) {
            return suffix
        }
        return nil
    }
}
