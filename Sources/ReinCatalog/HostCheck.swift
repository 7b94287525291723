/// Checks that an AWS Host header agrees with the verified scope: the
/// signature binds service and region, and the host must name the same
/// service endpoint, or the request is unknown. Hosts outside AWS (endpoint
/// overrides such as 127.0.0.1) carry no service information and pass.
enum HostCheck {
    static func check(host: String?, service: ServiceModel, region: String, s3: S3Addressing?,
                      resolver: EndpointResolver? = nil) -> UnknownReason? {
        guard let host, let suffix = S3Addressing.awsSuffix(host) else { return nil }
        if let resolver, let legacy = resolver.legacyHost(endpointPrefix: service.endpointPrefix, region: region),
           host.lowercased() == legacy {
            return nil
        }
        if let s3 {
            if let hostRegion = s3.hostRegion, hostRegion != region, hostRegion != "us-east-1" || region != "us-east-1" {
                return UnknownReason(.hostMismatch, "Host \(host) names region \(hostRegion) but the request is signed for \(region)")
            }
            return nil
        }
        // Host = <endpoint prefix>[-fips][.<region>][.dualstack] + AWS suffix;
        // compared as bytes, since this runs on every request.
        let name = host.utf8.dropLast(suffix.utf8.count)
        let prefix = service.endpointPrefix.utf8
        guard name.starts(with: prefix) else {
            return UnknownReason(.hostMismatch, "Host \(host) is not an endpoint of \(service.name) (endpoint prefix \(service.endpointPrefix))")
        }
        var rest = name.dropFirst(prefix.count)
        if rest.starts(with: "-fips".utf8) { rest = rest.dropFirst(5) }
        if rest.isEmpty { return nil }
        guard rest.first == UInt8(ascii: ".") else {
            return UnknownReason(.hostMismatch, "Host \(host) is not an endpoint of \(service.name) (endpoint prefix \(service.endpointPrefix))")
        }
        rest = rest.dropFirst()
        let label = rest.prefix { $0 != UInt8(ascii: ".") }
        if !label.elementsEqual("dualstack".utf8), !label.elementsEqual(region.utf8) {
            return UnknownReason(.hostMismatch, "Host \(host) names region \(String(decoding: label, as: UTF8.self)) but the request is signed for \(region)")
        }
        return nil
    }
}
