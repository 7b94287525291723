/// Checks that an AWS Host header agrees with the verified scope: the
/// signature binds service and region, and the host must name the same
/// service endpoint, or the request is unknown. Hosts outside AWS (endpoint
/// overrides such as 127.0.0.1) carry no service information and pass.
enum HostCheck {
    static func check(host: String?, service: ServiceModel, region: String, s3: S3Addressing?) -> UnknownReason? {
        guard let host, let suffix = S3Addressing.awsSuffix(host) else { return nil }
        if let s3 {
            if let hostRegion = s3.hostRegion, hostRegion != region, hostRegion != "us-east-1" || region != "us-east-1" {
                return UnknownReason(.hostMismatch, "Host \(host) names region \(hostRegion) but the request is signed for \(region)")
            }
            return nil
        }
        let name = String(host.dropLast(suffix.count))
        let prefixes = [service.endpointPrefix, service.endpointPrefix + "-fips"]
        guard let prefix = prefixes.first(where: { name == $0 || name.hasPrefix($0 + ".") }) else {
            return UnknownReason(.hostMismatch, "Host \(host) is not an endpoint of \(service.name) (endpoint prefix \(service.endpointPrefix))")
        }
        let rest = name.dropFirst(prefix.count).split(separator: ".").map(String.init).filter { $0 != "dualstack" }
        if let hostRegion = rest.first, hostRegion != region {
            return UnknownReason(.hostMismatch, "Host \(host) names region \(hostRegion) but the request is signed for \(region)")
        }
        return nil
    }
}
