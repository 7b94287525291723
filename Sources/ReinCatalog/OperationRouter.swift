import Foundation
import ReinSigV4

/// Finds the one operation a request invokes, for every AWS protocol:
/// X-Amz-Target (json), the RPC v2 path (CBOR), the Action parameter
/// (query, ec2), or the most specific URI template (rest-json, rest-xml).
/// No match, or two equally good matches, is unknown: Rein never picks.
struct OperationRouter {
    struct Route {
        let service: ServiceModel
        let operation: OperationModel
        let `protocol`: AWSProtocol
        let labels: LabelValues
        let form: [(key: String, value: String)]
        let s3: S3Addressing?
    }

    func route(_ request: CatalogRequest, candidates: [ServiceModel]) throws(UnknownReason) -> Route {
        let targets = request.headerValues("x-amz-target")
        if targets.count > 1 { throw UnknownReason(.ambiguous, "the request carries \(targets.count) X-Amz-Target headers") }
        if let target = targets.first {
            return try routeTarget(target, request, candidates)
        }
        if request.path.hasPrefix("/service/"), let route = try routeRPCv2(request, candidates) {
            return route
        }
        let queryCandidates = candidates.filter { $0.protocols.contains(.query) || $0.protocols.contains(.ec2) }
        if !queryCandidates.isEmpty, let route = try routeAction(request, queryCandidates) {
            return route
        }
        return try routeREST(request, candidates.filter { $0.protocols.contains(where: \.isREST) })
    }

    private func routeTarget(_ target: String, _ request: CatalogRequest, _ candidates: [ServiceModel]) throws(UnknownReason) -> Route {
        guard let dot = target.utf8.lastIndex(of: UInt8(ascii: ".")) else {
            throw UnknownReason(.unknownOperation, "X-Amz-Target '\(target.prefix(100))' is not of the form Prefix.Operation")
        }
        let prefix = String(target[..<dot]), name = String(target[target.utf8.index(after: dot)...])
        let matches = candidates.filter { $0.targetPrefix == prefix && $0.protocols.contains(.json) }
        guard matches.count == 1, let service = matches.first else {
            throw UnknownReason(matches.isEmpty ? .unknownOperation : .ambiguous,
                                "no single \(request.scope.service) service has JSON target prefix \(prefix.prefix(100))")
        }
        guard let op = service.operation(named: name) else {
            throw UnknownReason(.unknownOperation, "\(service.name) has no operation \(name.prefix(100))")
        }
        return Route(service: service, operation: op, protocol: .json, labels: [:], form: [], s3: nil)
    }

    /// Smithy RPC v2 CBOR: POST /service/{ServiceName}/operation/{Operation}.
    private func routeRPCv2(_ request: CatalogRequest, _ candidates: [ServiceModel]) throws(UnknownReason) -> Route? {
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.count == 4, parts[0] == "service", parts[2] == "operation" else { return nil }
        let cbor = candidates.filter { $0.protocols.contains(.rpcV2CBOR) }
        guard !cbor.isEmpty else { return nil }
        let matches = cbor.filter { $0.targetPrefix == parts[1] || $0.serviceId?.replacingOccurrences(of: " ", with: "") == parts[1] }
        guard matches.count == 1, let service = matches.first, let op = service.operation(named: parts[3]) else {
            throw UnknownReason(.unknownOperation, "no \(request.scope.service) RPC v2 operation \(parts[1]).\(parts[3])")
        }
        return Route(service: service, operation: op, protocol: .rpcV2CBOR, labels: [:], form: [], s3: nil)
    }

    /// query and ec2: the operation is the Action parameter, in the query
    /// string or in a form-encoded body.
    private func routeAction(_ request: CatalogRequest, _ candidates: [ServiceModel]) throws(UnknownReason) -> Route? {
        var form = request.queryItems
        let contentType = request.headerValues("content-type").first?.lowercased() ?? ""
        if contentType.hasPrefix("application/x-www-form-urlencoded") {
            guard case .bytes(let body) = request.body else {
                throw UnknownReason(.bodyNotInspected, "the form-encoded body that names the operation was not inspected")
            }
            let text = String(decoding: body, as: UTF8.self)
            form += text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (URIDecoding.decodeForm(kv[0]), kv.count > 1 ? URIDecoding.decodeForm(kv[1]) : "")
            }
        }
        let actions = form.filter { $0.key == "Action" }.map(\.value)
        guard !actions.isEmpty else { return nil }
        guard actions.count == 1, let name = actions.first else {
            throw UnknownReason(.ambiguous, "the request names \(actions.count) Action parameters")
        }
        var keys = Set<String>()
        for item in form where !keys.insert(item.key).inserted {
            throw UnknownReason(.ambiguous, "parameter \(item.key.prefix(100)) appears more than once")
        }
        let matches = candidates.compactMap { s in s.operation(named: name).map { (s, $0) } }
        guard matches.count == 1, let (service, op) = matches.first else {
            throw UnknownReason(matches.isEmpty ? .unknownOperation : .ambiguous,
                                "\(matches.isEmpty ? "no" : "more than one") \(request.scope.service) service has Action \(name.prefix(100))")
        }
        let proto: AWSProtocol = service.protocols.contains(.ec2) ? .ec2 : .query
        return Route(service: service, operation: op, protocol: proto, labels: [:], form: form, s3: nil)
    }

    /// Splits a raw path on "/" (bytes, not Characters); a trailing "/" adds no segment.
    static func pathSegments(_ path: String) -> [Substring] {
        var segments: [Substring] = []
        let utf8 = path.utf8
        var start = utf8.startIndex
        if start < utf8.endIndex, utf8[start] == UInt8(ascii: "/") { start = utf8.index(after: start) }
        var i = start
        while i < utf8.endIndex {
            if utf8[i] == UInt8(ascii: "/") {
                segments.append(path[start..<i])
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        if start < utf8.endIndex { segments.append(path[start..<utf8.endIndex]) }
        return segments
    }

    private func routeREST(_ request: CatalogRequest, _ candidates: [ServiceModel]) throws(UnknownReason) -> Route {
        guard !candidates.isEmpty else {
            throw UnknownReason(.unknownOperation, "the request names no operation (no X-Amz-Target, Action or REST route)")
        }
        let s3 = candidates.contains { $0.signingName == "s3" } ? S3Addressing.parse(host: request.host) : nil
        var segments = Self.pathSegments(request.path)
        let trailingSlash = request.path.count > 1 && request.path.hasSuffix("/")
        switch s3?.style {
        case .virtualHost(let bucket)?: segments.insert(Substring(URIEncoding.encode(bucket)), at: 0)
        case .accessPoint(let name, _)?: segments.insert(Substring(URIEncoding.encode(name)), at: 0)
        default: break
        }
        let query = request.queryItems
        var best: [(service: ServiceModel, route: ServiceModel.RESTRoute, proto: AWSProtocol)] = []
        var bestScore = Int.min
        for service in candidates {
            if case .control? = s3?.style, service.name != "s3control" { continue }
            let proto: AWSProtocol = service.protocols.first(where: \.isREST) ?? .restJSON
            guard let table = service.restRoutes[request.method] else { continue }
            if let literals = table.firstLiterals, !literals.contains(String(segments.first ?? "")) { continue }
            let exact = table.exact[segments.count] ?? []
            for (n, route) in [exact, table.greedy].joined().enumerated() {
                if n >= exact.count && route.template.minSegments > segments.count { continue }
                guard var score = route.template.score(pathSegments: segments, query: query) else { continue }
                // Required header and query members tell same-URI operations apart.
                var satisfied = true
                for name in route.requiredHeaders {
                    if request.headers.contains(where: { $0.hasName(name) }) { score += 5 } else { satisfied = false }
                }
                for name in route.requiredQuery {
                    if query.contains(where: { $0.key == name }) { score += 5 } else { satisfied = false }
                }
                guard satisfied, score >= bestScore else { continue }
                if score > bestScore { best.removeAll(keepingCapacity: true); bestScore = score }
                best.append((service, route, proto))
            }
        }
        guard let first = best.first else {
            throw UnknownReason(.unknownOperation, "no \(candidates.map(\.name).joined(separator: "/")) operation matches \(request.method) \(request.path.prefix(200))")
        }
        guard best.count == 1 else {
            let names = best.map { "\($0.service.name).\($0.route.operation.name)" }.joined(separator: ", ")
            throw UnknownReason(.ambiguous, "\(request.method) \(request.path.prefix(200)) matches \(names) equally")
        }
        var labels = first.route.template.labels(pathSegments: segments, trailingSlash: trailingSlash)
        if case .control(let account)? = s3?.style, labels["AccountId"] == nil { labels["AccountId"] = account }
        return Route(service: first.service, operation: first.route.operation, protocol: first.proto, labels: labels, form: [], s3: s3)
    }
}
