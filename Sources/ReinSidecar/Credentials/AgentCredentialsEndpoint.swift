import Foundation
import NIOHTTP1
import ReinAudit
import ReinCrypto

/// The ECS container-credentials protocol, so an agent's SDK finds its
/// credentials with `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` and no code change.
///
/// The token is compared in constant time; a wrong or missing token gets
/// 401 and nothing else. Answers are never cached (`Cache-Control: no-store`).
struct AgentCredentialsEndpoint: Sendable {
    let issuer: AgentCredentialIssuer
    let token: String
    let metrics: SidecarMetrics

    func respond(_ head: HTTPRequestHead) -> SimpleHTTPHandler.Response {
        guard head.method == .GET else {
            return json(.methodNotAllowed, ["code": "MethodNotAllowed", "message": "use GET"])
        }
        let presented = head.headers["authorization"].first ?? ""
        guard !presented.isEmpty, ConstantTime.equals(presented, token) else {
            return json(.unauthorized, ["code": "Unauthorized", "message": "the Authorization header must carry AWS_CONTAINER_AUTHORIZATION_TOKEN"])
        }
        guard let issued = issuer.issue() else {
            metrics.credentialRefresh(kind: "agent", success: false)
            return json(.forbidden, ["code": "TaskExpired", "message": "the task's policy has expired; no credentials are issued"])
        }
        metrics.credentialRefresh(kind: "agent", success: true)
        let expiration = AuditRecord.timestamp(Date(timeIntervalSince1970: TimeInterval(issued.expiration)))
        return json(.ok, [
            "AccessKeyId": issued.credentials.accessKeyId,
            "SecretAccessKey": issued.credentials.secretAccessKey,
            "Token": issued.credentials.sessionToken ?? "",
            "Expiration": String(expiration.prefix(19)) + "Z",
        ])
    }

    private func json(_ status: HTTPResponseStatus, _ object: [String: String]) -> SimpleHTTPHandler.Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return SimpleHTTPHandler.Response(status: status, contentType: "application/json", body: Array(data))
    }
}
