import Foundation
import ReinSigV4
import ReinUpstream

/// The JSON credentials document that ECS, EKS Pod Identity and IMDS serve:
/// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (IMDS adds
/// `"Code": "Success"`).
struct CredentialDocument: Decodable {
    var AccessKeyId: String?
    var SecretAccessKey: String?
    var Token: String?
    var Expiration: String?
    var Code: String?
    var Message: String?
    /// Some agents write their error fields in lower case.
    var code: String?
    var message: String?

    /// Decodes a 200 answer into credentials; never echoes the body, which may hold secrets.
    static func credentials(from response: HTTPClientResponse, what: String, provider: String) throws(BrokerError) -> BrokerCredentials {
        guard response.status == 200 else {
            var message = "\(what) answered HTTP \(response.status)"
            // Error bodies carry no secrets; their message field says what was wrong.
            if let doc = try? JSONDecoder().decode(CredentialDocument.self, from: Data(response.body)) {
                let detail = [doc.Code ?? doc.code, doc.Message ?? doc.message].compactMap { $0 }.joined(separator: ": ")
                if !detail.isEmpty { message += " (\(EchoText.withoutLongTokens(String(detail.prefix(300)))))" }
            }
            throw BrokerError(provider: provider, kind: .httpStatus(response.status), message: message)
        }
        let doc: CredentialDocument
        do {
            doc = try JSONDecoder().decode(CredentialDocument.self, from: Data(response.body))
        } catch {
            throw .malformed(provider, "\(what) did not answer with a JSON credentials document (\(response.body.count) bytes)")
        }
        if let code = doc.Code, code != "Success" {
            throw .malformed(provider, "\(what) answered Code \(EchoText.withoutLongTokens(code).debugDescription)"
                             + (doc.Message.map { ": " + EchoText.withoutLongTokens(String($0.prefix(300))) } ?? ""))
        }
        guard let keyId = doc.AccessKeyId, !keyId.isEmpty, let secret = doc.SecretAccessKey, !secret.isEmpty else {
            throw .malformed(provider, "\(what) credentials lack AccessKeyId or SecretAccessKey")
        }
        var expiration: Date?
        if let text = doc.Expiration {
            guard let date = ISO8601.parse(text) else {
                throw .malformed(provider, "\(what) Expiration \(text.debugDescription) is not ISO 8601")
            }
            expiration = date
        }
        let token = doc.Token.flatMap { $0.isEmpty ? nil : $0 }
        return BrokerCredentials(credentials: AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token),
                                 expiration: expiration, source: provider)
    }
}
