import Foundation
import ReinBroker
import ReinSigV4
import ReinUpstream

/// `backup.copy_to`: the S3 bucket and prefix each of the collector's own
/// backups is copied to once it is whole (``BackupCopy``).
///
/// Why S3 and not only `backup.dir`: a backup on the collector's own volume
/// is lost with the volume, and the evidence a compliance team relies on
/// should outlive the machine that gathered it. Why Rein copies it itself
/// rather than leaving it to a cron job: the copy is then checked against
/// the manifest's digests, signed with SigV4 over each part's SHA-256 (S3
/// refuses a body that differs), alerted on when it fails, and counted in
/// `/metrics`.
public struct BackupCopyDestination: Sendable, Equatable {
    public var bucket: String
    /// Key prefix without leading or trailing `/`; may be empty.
    public var prefix: String
    public var region: String
    /// An S3-compatible endpoint or a VPC endpoint (path-style addressing); nil: AWS's regional endpoint.
    public var endpoint: EndpointURL?
    /// SSE-KMS with this key; nil: the bucket's default encryption (SSE-S3 at least).
    public var kmsKeyId: String?
    /// Files larger than this go up in parts of this size (S3: 5 MiB at least, 10,000 parts at most).
    public var partSize: Int
    /// Where the credentials that sign the copy come from (the sidecar's `broker:` keys).
    public var credentials: BrokerConfiguration
    /// A PEM bundle to trust for `endpoint` instead of the system store (an S3-compatible store with a private CA).
    public var caFile: String?

    public static let defaultPartSize = 16 << 20
    public static let minimumPartSize = 5 << 20

    public init(bucket: String, prefix: String, region: String, endpoint: EndpointURL? = nil, kmsKeyId: String? = nil,
                partSize: Int = defaultPartSize, credentials: BrokerConfiguration) {
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.endpoint = endpoint
        self.kmsKeyId = kmsKeyId
        self.partSize = partSize
        self.credentials = credentials
    }

    /// The HTTP client for this destination (its CA bundle, if any).
    public func httpClient(maxResponseBytes: Int = 16 << 20) -> HTTPClient {
        HTTPClient(caBundlePath: caFile, maxResponseBytes: maxResponseBytes)
    }

    /// `s3://bucket/prefix/`, as written in logs and alerts.
    public var url: String { "s3://\(bucket)/" + (prefix.isEmpty ? "" : prefix + "/") }

    /// Splits `s3://bucket[/prefix]`; nil when it is not one, or the bucket
    /// name breaks S3's rules (3–63 of a-z 0-9 . -, a letter or digit at each end).
    public static func parse(_ text: String) -> (bucket: String, prefix: String)? {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = rest.dropFirst(bucket.count).split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        guard (3...63).contains(bucket.count),
              bucket.allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "-" }),
              let first = bucket.first, let last = bucket.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber,
              !bucket.contains(".."),
              prefix.utf8.count <= 900, !prefix.contains(where: { $0.isNewline || $0 == "\0" })
        else { return nil }
        return (bucket, prefix)
    }

    /// Where an object of this key is sent: its URL, the Host header and
    /// the path SigV4 signs (each key segment URI-encoded once, as S3 wants).
    ///
    /// Virtual-hosted style on AWS, path style for a configured endpoint or
    /// a bucket name with dots (TLS certificates cover one label only).
    public func address(of key: String, query: String? = nil) -> (url: String, host: String, path: String) {
        let encodedKey = URIEncoding.encode(key, keepSlash: true)
        let scheme: String
        let host: String
        let path: String
        if let endpoint {
            scheme = endpoint.scheme
            host = endpoint.authority
            let base = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
            path = base + "/" + bucket + "/" + encodedKey
        } else {
            scheme = "https"
            let domain = "s3.\(region).amazonaws.com" + (region.hasPrefix("cn-") ? ".cn" : "")
            if bucket.contains(".") {
                host = domain
                path = "/" + bucket + "/" + encodedKey
            } else {
                host = bucket + "." + domain
                path = "/" + encodedKey
            }
        }
        return (scheme + "://" + host + path + (query.map { "?" + $0 } ?? ""), host, path)
    }

    /// The key of one file of a backup: `prefix/<backup name>/<file>`.
    public func key(backup: String, file: String) -> String {
        (prefix.isEmpty ? "" : prefix + "/") + backup + "/" + file
    }
}
