import Foundation
import ReinCrypto
import ReinSigV4
import ReinUpstream

/// Calls STS's query API (form-encoded POST, XML answer) for the
/// credential-issuing actions, signed with SigV4 or, for
/// AssumeRoleWithWebIdentity, unsigned.
public struct STSClient: Sendable {
    static let version = "2011-06-15"

    let endpoint: EndpointURL
    let region: String
    let http: HTTPClient
    let timeout: Double
    /// The provider name errors carry.
    let provider: String

    init(endpoint: String?, region: String, http: HTTPClient, timeout: Double, provider: String) throws(BrokerError) {
        let text = endpoint ?? Self.regionalEndpoint(region)
        guard let parsed = EndpointURL(text) else {
            throw .configuration(provider, "STS endpoint \(URLText.redacted(text).debugDescription) is not an http(s) URL without query or credentials")
        }
        guard parsed.protectsCredentials else {
            throw .configuration(provider, "STS endpoint \(text) is plain http to a non-loopback host; the credentials it returns would cross the network in clear: use https")
        }
        guard Self.isPlausibleRegion(region) else {
            throw .configuration(provider, "region \(region.debugDescription) is not an AWS region name (e.g. us-east-1)")
        }
        self.endpoint = parsed
        self.region = region
        self.http = http
        self.timeout = timeout
        self.provider = provider
    }

    /// STS's regional endpoint (the SDKs' default since 2022); China regions
    /// live under amazonaws.com.cn.
    static func regionalEndpoint(_ region: String) -> String {
        "https://sts.\(region).amazonaws.com\(region.hasPrefix("cn-") ? ".cn" : "")"
    }

    /// Letters, digits and hyphens, at most 32: checked before a region goes into a host name. Shared with
    /// the collector's `backup.copy_to.region`.
    public static func isPlausibleRegion(_ region: String) -> Bool {
        !region.isEmpty && region.count <= 32 && region.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" }
    }

    /// Sends one action and returns the credentials of its `<Credentials>` element.
    func credentials(action: String, parameters: [(String, String)], signWith credentials: AWSCredentials?, now: Date) throws(BrokerError) -> BrokerCredentials {
        let pairs = [("Action", action), ("Version", Self.version)] + parameters
        let body = Array(pairs.map { URIEncoding.encode($0.0) + "=" + URIEncoding.encode($0.1) }.joined(separator: "&").utf8)
        var request = SignableRequest(method: "POST", path: endpoint.path, query: nil, headers: [
            HTTPHeader("Host", endpoint.authority),
            HTTPHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ])
        if let credentials {
            SigV4Signer().sign(&request, credentials: credentials, region: region, service: "sts",
                               time: Int64(now.timeIntervalSince1970.rounded(.down)), payloadHash: SHA256.hash(body).hex)
        }
        let response: HTTPClientResponse
        do {
            response = try http.send(HTTPClientRequest(method: "POST", url: endpoint.url,
                                                       headers: request.headers.map { ($0.name, $0.value) },
                                                       body: body, timeout: timeout))
        } catch {
            throw BrokerError(provider: provider, kind: .transport, message: "STS \(action) at \(endpoint.url) failed: \(error.message)")
        }
        return try Self.parse(response, action: action, provider: provider)
    }

    /// Sends the action with the context's session policy, if any. When STS
    /// answers `PackedPolicyTooLarge` (the packed size, shared with session
    /// tags, is something only STS can compute), asks for a policy within a
    /// smaller budget and tries again, at most `retries` times.
    func credentials(action: String, parameters: [(String, String)], sessionPolicy: BrokerContext.SessionPolicy?,
                     retries: Int = 2, signWith credentials: AWSCredentials?, now: Date) throws(BrokerError) -> BrokerCredentials {
        var budget = 2048
        var attempt = 0
        while true {
            let policy = try sessionPolicy?(budget)
            do {
                return try self.credentials(action: action, parameters: parameters + (policy.map { [("Policy", $0)] } ?? []),
                                            signWith: credentials, now: now)
            } catch where error.stsCode == "PackedPolicyTooLarge" {
                guard let policy, attempt < retries else { throw error }
                attempt += 1
                budget = SessionScope.smallerBudget(policyCharacters: min(policy.count, budget), stsMessage: error.message)
            }
        }
    }

    static func parse(_ response: HTTPClientResponse, action: String, provider: String) throws(BrokerError) -> BrokerCredentials {
        let text = response.bodyText[...]
        if let error = MiniXML.element("Error", in: text), let code = MiniXML.element("Code", in: error).map(MiniXML.unescape) {
            let message = EchoText.withoutLongTokens(MiniXML.element("Message", in: error).map(MiniXML.unescape) ?? "")
            throw BrokerError(provider: provider, kind: .sts(code: code),
                              message: "STS \(action) failed with \(code) (HTTP \(response.status)): \(message)\(hint(for: code))")
        }
        guard (200..<300).contains(response.status) else {
            throw BrokerError(provider: provider, kind: .httpStatus(response.status),
                              message: "STS \(action) answered HTTP \(response.status) without an AWS error code")
        }
        guard let block = MiniXML.element("Credentials", in: text) else {
            throw .malformed(provider, "STS \(action) answered \(response.status) without a Credentials element")
        }
        func field(_ name: String) throws(BrokerError) -> String {
            guard let value = MiniXML.element(name, in: block).map(MiniXML.unescape), !value.isEmpty else {
                throw .malformed(provider, "STS \(action) credentials lack \(name)")
            }
            return value
        }
        let expirationText = try field("Expiration")
        guard let expiration = ISO8601.parse(expirationText) else {
            throw .malformed(provider, "STS \(action) Expiration \(expirationText.debugDescription) is not ISO 8601")
        }
        return BrokerCredentials(
            credentials: AWSCredentials(accessKeyId: try field("AccessKeyId"), secretAccessKey: try field("SecretAccessKey"),
                                        sessionToken: try field("SessionToken")),
            expiration: expiration, source: provider)
    }

    /// What an operator should check for the STS errors Rein's setup causes most.
    static func hint(for code: String) -> String {
        switch code {
        case "AccessDenied":
            return " (check that the role's trust policy lets the broker's principal call sts:AssumeRole, and sts:TagSession and sts:SetSourceIdentity unless tag_session / set_source_identity are false)"
        case "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch":
            return " (the broker's base credentials were rejected: check the source provider)"
        case "InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim":
            return " (the web identity token was rejected: check the token file and the role's OIDC trust)"
        case "RegionDisabledException":
            return " (activate STS in this region or set broker.region to one where it is active)"
        default:
            return ""
        }
    }
}
