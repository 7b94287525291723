import Foundation
import ReinUpstream
import Testing
@testable import ReinBroker

/// The `broker:` configuration: decoding, validation messages, and the chain it builds.
struct BrokerConfigurationTests {
    let context = BrokerContext(agentId: "agent-1", taskId: "task-1")

    func decode(_ json: String) throws -> BrokerConfiguration {
        try JSONDecoder().decode(BrokerConfiguration.self, from: Data(json.utf8))
    }

    @Test func decodesNestedAssumeRoleChain() throws {
        let config = try decode("""
            {"provider": "assume_role", "role_arn": "arn:aws:iam::123456789012:role/task", "external_id": "ext-1",
             "region": "eu-west-1", "duration_seconds": 1800, "refresh_before_seconds": 120, "tag_session": false,
             "source": {"provider": "web_identity", "role_arn": "arn:aws:iam::123456789012:role/base", "token_file": "/var/run/token"}}
            """)
        #expect(config.provider == .assumeRole)
        #expect(config.durationSeconds == 1800)
        #expect(config.source?.provider == .webIdentity)
        #expect(config.source?.tokenFile == "/var/run/token")
        try config.validate()
        // Round trip keeps the nested source and the snake_case keys.
        let encoded = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(encoded.contains("\"role_arn\""))
        #expect(try decode(encoded) == config)

        let provider = try BrokerChainFactory.make(config, context: context, env: [:], http: HTTPClient())
        let assume = try #require(provider as? AssumeRoleProvider)
        #expect(assume.options.externalId == "ext-1")
        #expect(assume.options.tagSession == false)
        #expect(assume.base.name == "web_identity")
        // The base hop gets neither the task's policy nor its expiry.
        #expect((assume.base as? WebIdentityProvider)?.context.sessionPolicy == nil)
    }

    @Test func unknownKeysAreRefused() {
        #expect(throws: DecodingError.self) { try decode(#"{"provider": "imds", "imds_endpont": "http://x"}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"provider": "sso"}"#) }
    }

    @Test(arguments: [
        (#"{"provider": "assume_role", "source": {"provider": "static"}}"#, "broker.role_arn"),
        (#"{"provider": "assume_role", "role_arn": "arn:aws:iam::1:role/r"}"#, "broker.source"),
        (#"{"provider": "assume_role", "role_arn": "arn:aws:iam::1:role/r", "source": {"provider": "imds", "token_file": "/t"}}"#, "broker.source.token_file"),
        (#"{"provider": "assume_role", "role_arn": "arn:aws:iam::1:role/r", "source": {"provider": "static", "refresh_before_seconds": 60}}"#, "broker.source.refresh_before_seconds"),
        (#"{"provider": "static", "role_arn": "arn:aws:iam::1:role/r"}"#, "broker.role_arn"),
        (#"{"provider": "web_identity", "role_arn": "role/r"}"#, "broker.role_arn"),
        (#"{"provider": "web_identity", "duration_seconds": 600}"#, "broker.duration_seconds"),
        (#"{"provider": "imds", "timeout_seconds": 0}"#, "broker.timeout_seconds"),
    ])
    func validationNamesTheKey(json: String, key: String) throws {
        let config = try decode(json)
        let error = #expect(throws: BrokerError.self) { try config.validate() }
        #expect(error?.kind == .configuration)
        #expect(error?.message.hasPrefix(key) == true, "\(error?.message ?? "") should name \(key)")
    }

    @Test func regionFallsBackToTheEnvironmentThenFails() throws {
        let config = BrokerConfiguration(provider: .assumeRole, roleArn: "arn:aws:iam::1:role/r", source: .init(provider: .static))
        let env = ["AWS_ACCESS_KEY_ID": "AKIDX", "AWS_SECRET_ACCESS_KEY": "s"]
        let built = try BrokerChainFactory.make(config, context: context, env: env.merging(["AWS_REGION": "ap-south-1"]) { $1 }, http: HTTPClient())
        #expect((built as? AssumeRoleProvider)?.options.region == "ap-south-1")
        let error = #expect(throws: BrokerError.self) { try BrokerChainFactory.make(config, context: context, env: env, http: HTTPClient()) }
        #expect(error?.message.contains("broker.region") == true)
    }

    @Test func webIdentityReadsIRSAVariables() throws {
        let env = ["AWS_ROLE_ARN": "arn:aws:iam::1:role/irsa", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token",
                   "AWS_ROLE_SESSION_NAME": "pod-1", "AWS_DEFAULT_REGION": "us-east-2"]
        let built = try BrokerChainFactory.make(.init(provider: .webIdentity), context: context, env: env, http: HTTPClient())
        let web = try #require(built as? WebIdentityProvider)
        #expect(web.options.roleArn == "arn:aws:iam::1:role/irsa")
        #expect(web.options.tokenFile == "/var/run/secrets/token")
        #expect(web.options.sessionName == "pod-1")
        #expect(web.options.region == "us-east-2")
    }

    @Test func staticReadsThePrefixedEnvironment() throws {
        let env = ["REIN_BROKER_ACCESS_KEY_ID": "AKIDREIN", "REIN_BROKER_SECRET_ACCESS_KEY": "s", "AWS_ACCESS_KEY_ID": "AKIDAGENT"]
        let built = try BrokerChainFactory.make(.init(provider: .static, envPrefix: "REIN_BROKER_"), context: context, env: env, http: HTTPClient())
        #expect(try built.fetch(now: Date()).accessKeyId == "AKIDREIN")
        let error = #expect(throws: BrokerError.self) {
            try BrokerChainFactory.make(.init(provider: .static), context: context, env: ["AWS_ACCESS_KEY_ID": "AKID"], http: HTTPClient())
        }
        #expect(error?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
    }

    @Test func makeSourceUsesTheConfiguredRefreshLead() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIDX", "AWS_SECRET_ACCESS_KEY": "s"]
        let source = try BrokerChainFactory.makeSource(.init(provider: .static, refreshBeforeSeconds: 90), context: context, env: env, http: HTTPClient())
        #expect(source.refreshBefore == 90)
        #expect(try source.refreshNow().accessKeyId == "AKIDX")
    }
}
