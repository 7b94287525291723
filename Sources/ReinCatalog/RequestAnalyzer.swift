/// The catalog's front door: request in, verdict out.
///
/// The service and region come from the verified SigV4 scope (never from
/// the Host header, which must merely agree). Everything Rein cannot read
/// unambiguously is *unknown*, and the enforcement layer denies it.
public struct RequestAnalyzer: Sendable {
    public let catalog: ServiceCatalog
    /// The broker's AWS account, used in every ARN the request does not name itself.
    public let accountId: String
    public let maxResources: Int
    /// Endpoint data, so that legacy host names (`queue.amazonaws.com`) are recognised.
    public let resolver: EndpointResolver?

    public init(catalog: ServiceCatalog, accountId: String, maxResources: Int = 1000, resolver: EndpointResolver? = nil) {
        self.catalog = catalog
        self.accountId = accountId
        self.maxResources = maxResources
        self.resolver = resolver
    }

    public func analyze(_ request: CatalogRequest) -> CatalogVerdict {
        do throws(UnknownReason) {
            return .known(try resolve(request))
        } catch {
            return .unknown(error)
        }
    }

    /// Whether the operation needs body members to find its resources, so
    /// the sidecar knows to buffer the body (up to its limit) before
    /// deciding. S3 object data and other streaming payloads never are.
    public func needsBody(_ request: CatalogRequest) -> Bool {
        let head = CatalogRequest(method: request.method, path: request.path, query: request.query,
                                  headers: request.headers, body: .notBuffered, scope: request.scope)
        if case .unknown(let why) = analyze(head), why.kind == .bodyNotInspected { return true }
        return false
    }

    private func resolve(_ request: CatalogRequest) throws(UnknownReason) -> ResolvedRequest {
        let candidates = catalog.services(signingName: request.scope.service)
        guard !candidates.isEmpty else {
            throw UnknownReason(.unknownService, "no AWS service signs requests as '\(request.scope.service)'")
        }
        let route = try OperationRouter().route(request, candidates: candidates)
        if let mismatch = HostCheck.check(host: request.host, service: route.service, region: request.scope.region, s3: route.s3, resolver: resolver) {
            throw mismatch
        }
        var inputs = RequestInputs(request: request, operation: route.operation, protocol: route.protocol,
                                   labels: route.labels, form: route.form)
        let extractor = ResourceExtractor(service: route.service,
                                          builder: ARNBuilder(region: request.scope.region, account: accountId),
                                          maxResources: maxResources)
        let grants = try extractor.grants(&inputs, s3: route.s3)
        return ResolvedRequest(service: route.service.name, signingName: route.service.signingName,
                               region: request.scope.region, operation: route.operation.name,
                               protocol: route.protocol, jsonVersion: route.service.jsonVersion, grants: grants)
    }
}
