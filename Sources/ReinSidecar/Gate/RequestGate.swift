import Foundation
import ReinCatalog
import ReinCrypto
import ReinHolds
import ReinPolicy
import ReinSigV4

/// The broker credentials the gate re-signs with; nil means "not ready",
/// and the gate then refuses rather than forward anything unsigned.
public protocol BrokerCredentialAccess: Sendable {
    func currentBrokerCredentials() -> (credentials: AWSCredentials, source: String)?
}

/// The sidecar's decision core: verify → understand → decide → re-sign.
///
/// Why a plain type with no NIO: every rule that keeps a request from
/// reaching AWS lives here and is tested with values, not sockets. The
/// listener only moves bytes and calls ``decide(_:body:now:)``.
public struct RequestGate: Sendable {
    public struct Settings: Sendable {
        public var mode: PolicyMode
        public var upstreamEndpoint: URL?
        public var variant: EndpointResolver.Variant
        public var maxInspectedBody: Int
        public var accountId: String

        public init(mode: PolicyMode, upstreamEndpoint: URL?, variant: EndpointResolver.Variant, maxInspectedBody: Int, accountId: String) {
            self.mode = mode
            self.upstreamEndpoint = upstreamEndpoint
            self.variant = variant
            self.maxInspectedBody = maxInspectedBody
            self.accountId = accountId
        }
    }

    let settings: Settings
    let verifier: SigV4Verifier
    let signer: SigV4Signer
    let catalog: ServiceCatalog
    let analyzer: RequestAnalyzer
    let resolver: EndpointResolver
    let policy: LivePolicy
    let broker: any BrokerCredentialAccess

    public init(settings: Settings, credentials: any CredentialLookup, clockSkew: Int64, catalog: ServiceCatalog,
                resolver: EndpointResolver, policy: LivePolicy, broker: any BrokerCredentialAccess) {
        self.settings = settings
        verifier = SigV4Verifier(credentials: credentials, allowedClockSkew: clockSkew)
        signer = SigV4Signer()
        self.catalog = catalog
        analyzer = RequestAnalyzer(catalog: catalog, accountId: settings.accountId, resolver: resolver)
        self.resolver = resolver
        self.policy = policy
        self.broker = broker
    }

    /// Decides one request. Call first with `body` nil; on `.needsBody`,
    /// read the body and call again with it.
    public func decide(_ head: AgentRequestHead, body: [UInt8]?, now: Int64, requestId: String) -> GateOutcome {
        var facts = GateFacts()
        // Only an error answer needs the error style; working it out costs a header parse.
        var styleCache: ErrorStyle?
        var style: ErrorStyle {
            if let styleCache { return styleCache }
            let s = ErrorStyle.guess(head: head, catalog: catalog)
            styleCache = s
            return s
        }
        func reject(_ code: String, _ status: Int, _ message: String, decision: String = "error") -> GateOutcome {
            facts.decision = decision
            facts.errorCode = AWSErrorResponse.bareCode(code)
            facts.reason = message
            return .reject(Rejection(response: style.error(code: code, status: status, message: message, requestId: requestId)), facts)
        }

        // 1. The request as the agent signed it (origin-form), with its Host checked.
        let signable: SignableRequest
        switch OriginForm.make(head) {
        case .failure(let problem): return reject(style.invalidRequestCode, 400, problem.message)
        case .success(let s): signable = s
        }

        // 2. Verify the agent's signature.
        let declared = head.firstValue("x-amz-content-sha256")
        if declared == nil, head.hasBody, body == nil, !Self.isPresigned(signable) {
            // The signature covers the body itself: it must be read first.
            if let length = head.contentLength, length > Int64(settings.maxInspectedBody) {
                return reject(style.tooLargeCode, 413, "Rein must read this body to verify its signature, and it is larger than limits.max_inspected_body (\(settings.maxInspectedBody) bytes); send x-amz-content-sha256 or a smaller body")
            }
            return .needsBody(limit: settings.maxInspectedBody, facts)
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let verified: VerifiedRequest
        do {
            let digest = (declared == nil && body != nil) ? SHA256.hash(body ?? []) : (head.hasBody ? nil : SHA256.hash([UInt8]()))
            verified = try verifier.verify(signable, bodyDigest: digest, now: now)
        } catch {
            facts.verifyNanos = DispatchTime.now().uptimeNanoseconds - started
            // Unverified: recorded only when it has an access key id's shape (not a swapped-in secret key).
            if let auth = try? SigV4Authorization.parse(signable) { facts.accessKeyId = EchoText.accessKeyId(auth.accessKeyId) }
            return reject(error.awsCode(for: style.dialect), error.httpStatus(for: style.dialect), error.message)
        }
        facts.verifyNanos = DispatchTime.now().uptimeNanoseconds - started
        facts.accessKeyId = verified.authorization.accessKeyId
        facts.region = verified.scope.region
        facts.service = verified.scope.service

        // A buffered body with a declared hash must match it before anything else.
        if let body, case .declaredHash(let hex) = verified.payloadMode {
            guard ConstantTime.equals(SHA256.hash(body).hex, hex.lowercased()) else {
                return reject("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
        }

        // 3. Understand: operation, actions, resources.
        let decideStart = DispatchTime.now().uptimeNanoseconds
        var catalogRequest = CatalogRequest(signable, body: body.map { .bytes($0) } ?? .notBuffered, scope: verified.scope)
        if body == nil, head.hasBody, analyzer.needsBody(catalogRequest) {
            if verified.payloadMode.isStreaming {
                return reject(style.invalidRequestCode, 400, "Rein must read this operation's body to find its resources, and aws-chunked bodies are not inspected; send it without aws-chunked encoding")
            }
            if let length = head.contentLength, length > Int64(settings.maxInspectedBody) {
                return reject(style.tooLargeCode, 413, "Rein must read this operation's body to find its resources, and it is larger than limits.max_inspected_body (\(settings.maxInspectedBody) bytes)")
            }
            return .needsBody(limit: settings.maxInspectedBody, facts)
        }
        if !head.hasBody { catalogRequest.body = .bytes([]) }
        let verdict = analyzer.analyze(catalogRequest)
        let evaluator = policy.current
        let document = evaluator.document
        let mode = document.mode.strictness > settings.mode.strictness ? document.mode : settings.mode
        facts.mode = mode
        let context = ConditionContext.standard(now: now, region: verified.scope.region, agentId: document.agent.id,
                                                taskId: document.task.id, mode: mode, sourceIp: head.clientAddress)
        let decision = evaluator.decide(DecisionRequest(verdict: verdict, context: context))
        facts.decideNanos = DispatchTime.now().uptimeNanoseconds - decideStart
        facts.statementId = decision.statementId
        facts.reason = decision.reason
        let resolved = verdict.resolved
        if let resolved {
            facts.service = resolved.service
            facts.operation = resolved.operation
            facts.grants = resolved.grants
        }

        switch (decision.effect, mode) {
        case (.allow, _):
            facts.decision = "allow"
        case (_, .observe), (_, .learn):
            // Observe logs the would-be denial; learn records for `rein policy suggest`. Both forward,
            // and the record says what enforce mode would have done.
            facts.decision = decision.effect == .hold ? "would-hold" : "would-deny"
        case (.hold, .enforce):
            facts.decision = "hold"
            let grants = resolved?.grants ?? []
            let hold = HoldRequest(agentId: document.agent.id, taskId: document.task.id,
                                   operation: resolved?.operation ?? "unknown", grants: grants,
                                   statementId: decision.statementId, reason: decision.reason,
                                   key: Self.holdKey(signable: signable, payload: verified.payloadMode, body: body, head: head,
                                                     agentId: document.agent.id, taskId: document.task.id, grants: grants),
                                   summary: Self.holdSummary(signable: signable, head: head),
                                   service: facts.service, region: facts.region, accessKeyId: facts.accessKeyId)
            return .hold(hold, facts)
        case (.deny, .enforce):
            facts.decision = "deny"
            let action = decision.action ?? resolved?.actions.first ?? "unknown"
            let resource = decision.resource ?? resolved?.resources.first ?? "*"
            if let resolved {
                let denied = resolved.accessDenied(action: action, resource: resource, reason: decision.reason, requestId: requestId)
                return .reject(Rejection(response: denied), facts)
            }
            facts.errorCode = style.accessDeniedCode
            return .reject(Rejection(response: style.accessDenied(
                message: "Rein: not authorized to perform this request because \(decision.reason)", requestId: requestId)), facts)
        }

        // 4. Re-sign with broker credentials and plan the forward.
        return plan(head: head, signable: signable, verified: verified, body: body, now: now, facts: facts,
                    requestId: requestId)
    }

    /// Finishes an approved hold: the same checks already passed, so re-sign and forward.
    public func approved(_ head: AgentRequestHead, body: [UInt8]?, now: Int64, requestId: String, facts: GateFacts) -> GateOutcome {
        var facts = facts
        let style = ErrorStyle.guess(head: head, catalog: catalog)
        guard case .success(let signable) = OriginForm.make(head) else {
            return .reject(Rejection(response: style.error(code: style.invalidRequestCode, status: 400, message: "invalid request", requestId: requestId)), facts)
        }
        let declared = head.firstValue("x-amz-content-sha256")
        let digest = (declared == nil && body != nil) ? SHA256.hash(body ?? []) : (head.hasBody ? nil : SHA256.hash([UInt8]()))
        guard let verified = try? verifier.verify(signable, bodyDigest: digest, now: now) else {
            facts.decision = "error"
            return .reject(Rejection(response: style.error(code: "RequestExpired", status: 403, message: "the held request no longer verifies; retry it", requestId: requestId)), facts)
        }
        facts.decision = "hold-approved"
        return plan(head: head, signable: signable, verified: verified, body: body, now: now, facts: facts, requestId: requestId)
    }

    /// ``HoldIdentity`` of a held request: what it does, not how it was signed.
    static func holdKey(signable: SignableRequest, payload: PayloadMode, body: [UInt8]?, head: AgentRequestHead,
                        agentId: String, taskId: String, grants: [ActionResources]) -> String {
        let payloadHash: String
        switch payload {
        case .declaredHash(let hex): payloadHash = hex
        case .bodyHash: payloadHash = SHA256.hash(body ?? []).hex
        default: payloadHash = "\(payload)/\(head.contentLength.map(String.init) ?? "-")"
        }
        let query = (signable.query ?? "").split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
        }
        return HoldIdentity.key(agentId: agentId, taskId: taskId,
                                grants: grants.map { HoldGrantItem(action: $0.action, resources: $0.resources) },
                                method: signable.method, host: head.firstValue("host"), path: signable.path, query: query,
                                payloadHash: payloadHash)
    }

    /// What approvers see: method, host, path and query names; no values, body or credentials.
    static func holdSummary(signable: SignableRequest, head: AgentRequestHead) -> HoldSummary {
        let names = (signable.query ?? "").split(separator: "&").map { String($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }
            .filter { !$0.lowercased().hasPrefix("x-amz-") }
        return HoldSummary(method: signable.method, host: head.firstValue("host"), path: String(signable.path.prefix(1024)),
                           queryKeys: Array(Set(names)).sorted(), contentLength: head.contentLength,
                           userAgent: head.firstValue("user-agent").map { String($0.prefix(256)) }, sourceAddress: head.clientAddress)
    }

    static func isPresigned(_ request: SignableRequest) -> Bool {
        request.query?.contains("X-Amz-Signature=") ?? false
    }
}
