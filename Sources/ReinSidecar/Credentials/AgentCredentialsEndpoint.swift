import Foundation
import NIOHTTP1
import NIOPosix
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

    /// Blocking when a set is minted (see ``respond(_:on:)``).
    func respond(_ head: HTTPRequestHead) -> SimpleHTTPHandler.Response {
        assert(MultiThreadedEventLoopGroup.currentEventLoop == nil, "the agent credentials endpoint answered on an event loop")
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

    /// ``respond(_:)`` on `pool`: when a set is due, minting it writes
    /// `agent-credentials.json` (an fsync and a rename), which must not stall
    /// an event loop that the agent's calls share.
    func respond(_ head: HTTPRequestHead, on pool: NIOThreadPool) async -> SimpleHTTPHandler.Response {
        do { return try await pool.runIfActive { respond(head) } } catch {
            return json(.serviceUnavailable, ["code": "ServiceUnavailable", "message": "the sidecar is shutting down"])
        }
    }

    /// What a request target that is not a path gets (`GET http://…`).
    static func notAPath() -> SimpleHTTPHandler.Response {
        SimpleHTTPHandler.Response(status: .badRequest, contentType: "application/json",
                                   body: Array(#"{"code":"BadRequest","message":"the request target must be a path"}"#.utf8))
    }

    private func json(_ status: HTTPResponseStatus, _ object: [String: String]) -> SimpleHTTPHandler.Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return SimpleHTTPHandler.Response(status: status, contentType: "application/json", body: Array(data))
    }
}
