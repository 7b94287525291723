import Foundation
import ReinSigV4
import ReinUpstream
import Testing
@testable import ReinBroker

/// Secrets never appear in descriptions or error messages.
struct RedactionTests {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    let token = "FQoGZXIvYXdzEXAMPLETOKEN//////////"

    @Test func credentialDescriptionsRedactSecretAndToken() {
        let creds = BrokerCredentials(credentials: AWSCredentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: secret, sessionToken: token),
                                      expiration: Date(timeIntervalSince1970: 1_800_000_000), source: "assume_role")
        for text in [String(describing: creds), String(reflecting: creds), "\(creds)", String(describing: [creds])] {
            #expect(!text.contains(secret))
            #expect(!text.contains(token))
            #expect(text.contains("ASIAEXAMPLE"))
            #expect(text.contains("2027-01-15T08:00:00Z"))
        }
    }

    @Test func malformedSTSAnswerDoesNotEchoItsBody() {
        let body = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId>"
            + "<SecretAccessKey>\(secret)</SecretAccessKey><SessionToken>\(token)</SessionToken>"
            + "<Expiration>not-a-date</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
        let response = HTTPClientResponse(status: 200, headers: [], body: Array(body.utf8))
        let error = #expect(throws: BrokerError.self) { try STSClient.parse(response, action: "AssumeRole", provider: "assume_role") }
        #expect(error?.kind == .malformedResponse)
        let text = error.map(String.init(describing:)) ?? ""
        #expect(!text.contains(secret) && !text.contains(token))
    }

    @Test func stsErrorKeepsAWSMessageAndCode() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            + "<Message>User: arn:aws:iam::1:user/b is not authorized &amp; so on</Message></Error></ErrorResponse>"
        let response = HTTPClientResponse(status: 403, headers: [], body: Array(body.utf8))
        let error = #expect(throws: BrokerError.self) { try STSClient.parse(response, action: "AssumeRole", provider: "assume_role") }
        #expect(error?.stsCode == "AccessDenied")
        #expect(error?.message.contains("not authorized & so on") == true)
        #expect(error?.message.contains("sts:TagSession") == true)
    }

    @Test func malformedContainerAnswerDoesNotEchoItsBody() {
        let body = #"{"AccessKeyId": "ASIAX", "SecretAccessKey": "\#(secret)", "Token": "\#(token)", "Expiration": "soon"}"#
        let response = HTTPClientResponse(status: 200, headers: [], body: Array(body.utf8))
        let error = #expect(throws: BrokerError.self) {
            try CredentialDocument.credentials(from: response, what: "the container endpoint", provider: "container")
        }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains("soon"))
        #expect(!text.contains(secret) && !text.contains(token))
    }

    @Test func baseCredentialsNeverReachErrors() throws {
        let server = try MetadataServer(["--sts-error", "ExpiredToken"])
        let provider = try AssumeRoleProvider(base: fakeStaticBase,
                                              options: .init(roleArn: "arn:aws:iam::1:role/r", region: "us-east-1", endpoint: server.base + "/sts"),
                                              context: BrokerContext(agentId: "a", taskId: "t"), http: HTTPClient())
        let error = #expect(throws: BrokerError.self) { try provider.fetch(now: Date()) }
        #expect(error?.stsCode == "ExpiredToken")
        let text = error.map(String.init(describing:)) ?? ""
        #expect(!text.contains("base-secret-do-not-leak") && !text.contains("base-token-do-not-leak"))
    }
}
