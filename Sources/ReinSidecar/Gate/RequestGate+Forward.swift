import Foundation
import ReinCatalog
import ReinPolicy
import ReinSigV4

extension RequestGate {
    /// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Re-signs a verified, allowed request with broker credentials and
    /// works out where it goes: the catalog's endpoint for the verified
    /// service and region, or the configured override. Never the agent's Host.
    func plan(head: AgentRequestHead, signable: SignableRequest, verified: VerifiedRequest, body: [UInt8]?, now: Int64,
              facts: GateFacts, requestId: String) -> GateOutcome {
        var facts = facts
        let catalog = self.catalog
        var style: ErrorStyle { ErrorStyle.guess(head: head, catalog: catalog) }
        func reject(_ code: String, _ status: Int, _ message: String) -> GateOutcome {
            facts.errorCode = code
            facts.reason = message
            facts.decision = "error"
            return .reject(Rejection(response: style.error(code: code, status: status, message: message, requestId: requestId)), facts)
        }
        guard let (brokerCredentials, source) = broker.currentBrokerCredentials() else {
            return reject("ServiceUnavailable", 503, "Rein has no valid broker credentials right now (refresh failing); nothing is forwarded unsigned. Retry shortly.")
        }
        facts.brokerSource = source

        // Where: from the catalog's endpoint rules, for the verified scope.
        let scope = verified.scope
        let model = facts.service.flatMap { catalog.service(named: $0) } ?? catalog.services(signingName: scope.service).first
        guard let model else {
            return reject(style.invalidRequestCode, 400, "Rein does not know the AWS service '\(scope.service)'")
        }
        var request = signable
        let agentHost = head.firstValue("host") ?? ""
        let prefix = Self.virtualHostPrefix(agentHost: agentHost, service: model.name, via: head.via)
        let scheme: String
        let hostHeader: String
        if let override = settings.upstreamEndpoint, let host = override.host {
            scheme = override.scheme ?? "http"
            hostHeader = override.port.map { "\(host):\($0)" } ?? host
            // An AWS-compatible server sees one host: virtual-hosted buckets become path-style.
            if let prefix, model.name == "s3" { request.path = "/" + prefix + request.path }
        } else {
            let endpoint: EndpointResolver.Endpoint
            do {
                endpoint = try resolver.resolve(endpointPrefix: model.endpointPrefix, region: scope.region, variant: settings.variant)
            } catch {
                return reject(style.invalidRequestCode, 400, "no AWS endpoint for \(model.endpointPrefix) in \(scope.region): \(error.message)")
            }
            scheme = "https"
            hostHeader = prefix.map { "\($0).\(endpoint.host)" } ?? endpoint.host
        }
        facts.upstreamHost = hostHeader

        // Drop hop-by-hop headers (and those Connection names) unless the agent signed them.
        let signed = Set(verified.signedHeaders)
        var dropped = Self.hopByHop
        for value in request.values("connection") {
            for token in value.split(separator: ",") { dropped.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        dropped.insert("expect")
        request.headers.removeAll { dropped.contains($0.lowercasedName) && !signed.contains($0.lowercasedName) }

        let resigned = signer.resign(request, verified: verified, broker: brokerCredentials, time: now, host: hostHeader)
        let headers = resigned.request.headers.map { (name: $0.name, value: $0.value) }
        let url = "\(scheme)://\(hostHeader)\(resigned.request.target)"

        // How the body travels.
        let bodyPlan: BodyPlan
        if let body {
            bodyPlan = body.isEmpty ? .empty : .buffered(body)
        } else if !head.hasBody {
            bodyPlan = .empty
        } else {
            let length = head.isChunked ? nil : head.contentLength
            switch verified.payloadMode {
            case .declaredHash(let hex):
                bodyPlan = .stream(.declared(hex), length: length)
            case .unsigned:
                bodyPlan = .stream(.unsigned(), length: length)
            case .bodyHash:
                return reject(style.invalidRequestCode, 400, "the body was not read before verification")
            case .streamingSigned, .streamingSignedTrailer, .streamingUnsignedTrailer:
                let mode = verified.payloadMode
                let signedModes = mode != .streamingUnsignedTrailer
                let agentChain = signedModes ? ChunkSignatureChain(signingKey: verified.signingKey, amzDate: verified.amzDate,
                                                                   scope: scope, seedSignature: verified.seedSignature) : nil
                let brokerChain = signedModes ? ChunkSignatureChain(signingKey: resigned.output.signingKey, amzDate: AmzDate.format(now),
                                                                    scope: resigned.output.scope, seedSignature: resigned.output.signature) : nil
                let trailers = (head.firstValue("x-amz-trailer") ?? "").split(separator: ",").map { String($0) }
                let decoded = head.firstValue("x-amz-decoded-content-length").flatMap { Int64($0) }
                let decoder = ChunkedDecoder(mode: mode, chain: agentChain, declaredTrailers: trailers, decodedLength: decoded)
                let encoder = ChunkedEncoder(mode: mode, chain: brokerChain)
                bodyPlan = .stream(.chunked(decoder: decoder, encoder: encoder), length: length)
            }
        }
        let plan = ForwardPlan(method: head.method, url: url, headers: headers, body: bodyPlan, upstreamHost: hostHeader)
        return .forward(plan, facts)
    }

    /// The labels before the S3 service label in a virtual-hosted S3 Host
    /// (`my.bucket.s3.us-east-1.amazonaws.com` → `my.bucket`). The catalog
    /// already checked that this Host agrees with the verified scope.
    static func virtualHostPrefix(agentHost: String, service: String, via: RequestVia) -> String? {
        guard service == "s3", via != .endpoint else { return nil }
        var host = agentHost.lowercased()
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        guard host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") || host.hasSuffix(".api.aws") else { return nil }
        let labels = host.split(separator: ".")
        guard let i = labels.firstIndex(where: { $0 == "s3" || $0.hasPrefix("s3-") }), i > 0 else { return nil }
        let prefix = labels[..<i].joined(separator: ".")
        guard prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else { return nil }
        return prefix
    }
}

extension PayloadMode {
    var isStreaming: Bool {
        switch self {
        case .streamingSigned, .streamingSignedTrailer, .streamingUnsignedTrailer: return true
        default: return false
        }
    }
}
