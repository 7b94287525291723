import Foundation

/// Picks the real AWS endpoint to forward a request to, from botocore's
/// endpoint data (generated into aws-endpoints.json): the partition of the
/// region, the service's global or special endpoints, and the FIPS and
/// dual-stack variants.
///
/// Rein never takes an upstream host from the agent. The host comes only
/// from this data, for the service and region of the *verified* signature,
/// and a region that is not a real region of a known partition is refused,
/// so no request can be steered to another host (no SSRF).
public final class EndpointResolver: Sendable {
    public struct Variant: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let fips = Variant(rawValue: 1)
        public static let dualstack = Variant(rawValue: 2)

        /// botocore's tag key: "fips", "dualstack" or "dualstack+fips".
        var tag: String? {
            switch (contains(.dualstack), contains(.fips)) {
            case (true, true): return "dualstack+fips"
            case (true, false): return "dualstack"
            case (false, true): return "fips"
            case (false, false): return nil
            }
        }
    }

    /// Where to send a request, and the region to sign it for there.
    public struct Endpoint: Sendable, Equatable {
        public let host: String
        public let signingRegion: String
        public let partition: String
    }

    public struct ResolveError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    struct EndpointData: Decodable, Sendable {
        let format: Int
        let botocore: String
        let partitions: [Partition]
    }

    struct Partition: Decodable, Sendable {
        let partition: String
        let dnsSuffix: String
        let regionRegex: String
        let regions: [String]
        let hostname: String
        let variants: [String: VariantTemplate]
        let services: [String: Service]
    }

    struct VariantTemplate: Decodable, Sendable {
        let hostname: String
        let dnsSuffix: String
    }

    struct Service: Decodable, Sendable {
        let global: String?
        let endpoints: [String: RegionEndpoint]?
        let hostname: String?
        /// The legacy (sslCommonName) host template SDKs may still send.
        let legacy: String?
    }

    struct RegionEndpoint: Decodable, Sendable {
        let h: String?
        let cs: CredentialScope?
        let v: [String: String]?
        let l: String?

        struct CredentialScope: Decodable, Sendable {
            let region: String?
        }
    }

    private let data: EndpointData
    /// Compiled region patterns, one per partition.
    private let patterns: [NSRegularExpression]

    public static func bundled() throws -> EndpointResolver {
        guard let url = Bundle.module.url(forResource: "aws-endpoints", withExtension: "json") else {
            throw ResolveError(message: "the bundled aws-endpoints.json resource is missing")
        }
        return try EndpointResolver(data: Data(contentsOf: url))
    }

    public init(data: Data) throws {
        self.data = try JSONDecoder().decode(EndpointData.self, from: data)
        patterns = try self.data.partitions.map { try NSRegularExpression(pattern: $0.regionRegex) }
    }

    /// The partition a region belongs to: listed regions first, then the pattern.
    func partition(of region: String) -> Partition? {
        if let listed = data.partitions.first(where: { $0.regions.contains(region) }) { return listed }
        let range = NSRange(region.startIndex..., in: region)
        for (i, p) in data.partitions.enumerated() {
            if let m = patterns[i].firstMatch(in: region, range: range), m.range == range { return p }
        }
        return nil
    }

    /// The endpoint for a service (by endpoint prefix) in a region.
    public func resolve(endpointPrefix: String, region: String, variant: Variant = []) throws(ResolveError) -> Endpoint {
        guard Self.isSafeLabel(region), let partition = partition(of: region) else {
            throw ResolveError(message: "'\(region.prefix(64))' is not a region of any AWS partition")
        }
        let service = partition.services[endpointPrefix]
        var lookupRegion = region
        if let global = service?.global, service?.endpoints?[region] == nil {
            lookupRegion = global
        }
        let special = service?.endpoints?[lookupRegion]
        let signingRegion = special?.cs?.region ?? region
        var host: String
        if let tag = variant.tag {
            if let h = special?.v?[tag] {
                host = h
            } else if let template = partition.variants[tag] {
                host = Self.fill(template.hostname, service: endpointPrefix, region: region, dnsSuffix: template.dnsSuffix)
            } else {
                throw ResolveError(message: "\(endpointPrefix) has no \(tag) endpoint in \(partition.partition)")
            }
        } else if let h = special?.h {
            host = h
        } else {
            host = Self.fill(service?.hostname ?? partition.hostname, service: endpointPrefix, region: region, dnsSuffix: partition.dnsSuffix)
        }
        host = host.lowercased()
        guard Self.isSafeHost(host) else {
            throw ResolveError(message: "refusing the generated upstream host '\(host.prefix(120))'")
        }
        return Endpoint(host: host, signingRegion: signingRegion, partition: partition.partition)
    }

    /// The legacy host name of a service in a region (`queue.amazonaws.com`
    /// for SQS in us-east-1), which SDKs still send. A request naming it is
    /// accepted as naming the service; it is never chosen as the upstream.
    public func legacyHost(endpointPrefix: String, region: String) -> String? {
        guard Self.isSafeLabel(region), let partition = partition(of: region),
              let service = partition.services[endpointPrefix] else { return nil }
        guard let template = service.endpoints?[region]?.l ?? service.legacy else { return nil }
        return Self.fill(template, service: endpointPrefix, region: region, dnsSuffix: partition.dnsSuffix).lowercased()
    }

    static func fill(_ template: String, service: String, region: String, dnsSuffix: String) -> String {
        template.replacingOccurrences(of: "{service}", with: service)
            .replacingOccurrences(of: "{region}", with: region)
            .replacingOccurrences(of: "{dnsSuffix}", with: dnsSuffix)
    }

    /// Region labels are lower-case letters, digits and dashes.
    static func isSafeLabel(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// A DNS name under an AWS suffix, nothing else (no ports, paths or users).
    static func isSafeHost(_ host: String) -> Bool {
        let allowed = host.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
        let suffixes = [".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov", ".cloud.adc-e.uk",
                        ".csp.hci.ic.gov", ".api.amazonwebservices.com.cn", ".amazonaws.eu"]
        return allowed && suffixes.contains { host.hasSuffix($0) }
    }
}
