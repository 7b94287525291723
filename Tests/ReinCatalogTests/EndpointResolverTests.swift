import Testing
@testable import ReinCatalog

/// Upstream hosts come only from botocore's endpoint data, for the verified
/// service and region; nothing the agent sends can steer them elsewhere.
struct EndpointResolverTests {
    static let resolver: EndpointResolver = {
        do { return try EndpointResolver.bundled() } catch { fatalError("\(error)") }
    }()

    @Test(arguments: [
        ("s3", "us-east-1", "s3.us-east-1.amazonaws.com", "us-east-1"),
        ("dynamodb", "eu-west-1", "dynamodb.eu-west-1.amazonaws.com", "eu-west-1"),
        ("dynamodb", "cn-north-1", "dynamodb.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("lambda", "us-gov-west-1", "lambda.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("iam", "eu-central-1", "iam.amazonaws.com", "us-east-1"),
        ("sts", "ap-southeast-2", "sts.ap-southeast-2.amazonaws.com", "ap-southeast-2"),
        ("bedrock-runtime", "us-east-1", "bedrock-runtime.us-east-1.amazonaws.com", "us-east-1"),
    ])
    func resolves(_ prefix: String, _ region: String, _ host: String, _ signing: String) throws {
        let e = try Self.resolver.resolve(endpointPrefix: prefix, region: region)
        #expect(e.host == host)
        #expect(e.signingRegion == signing)
    }

    @Test func fipsAndDualStack() throws {
        #expect(try Self.resolver.resolve(endpointPrefix: "s3", region: "us-east-1", variant: .fips).host == "s3-fips.us-east-1.amazonaws.com")
        #expect(try Self.resolver.resolve(endpointPrefix: "s3", region: "us-east-1", variant: .dualstack).host == "s3.dualstack.us-east-1.amazonaws.com")
        #expect(try Self.resolver.resolve(endpointPrefix: "dynamodb", region: "eu-west-1", variant: .dualstack).host == "dynamodb.eu-west-1.api.aws")
        #expect(try Self.resolver.resolve(endpointPrefix: "sts", region: "us-east-2", variant: .fips).host == "sts-fips.us-east-2.amazonaws.com")
    }

    @Test(arguments: ["moon-1", "us-east-1.evil.example", "us-east-1/../x", "", "US-EAST-1", "us-east-1:443", "169.254.169.254"])
    func refusesAnythingButARealRegion(_ region: String) {
        #expect(throws: EndpointResolver.ResolveError.self) { try Self.resolver.resolve(endpointPrefix: "s3", region: region) }
    }

    @Test func unlistedButWellFormedRegionsFollowThePartitionPattern() throws {
        // A region newer than the data still resolves within its partition.
        let e = try Self.resolver.resolve(endpointPrefix: "sqs", region: "eu-north-9")
        #expect(e.host == "sqs.eu-north-9.amazonaws.com" && e.partition == "aws")
    }
}

struct LegacyHostTests {
    @Test func sqsLegacyQueueHostsAreKnownButNeverTheUpstream() throws {
        let resolver = try EndpointResolver.bundled()
        #expect(resolver.legacyHost(endpointPrefix: "sqs", region: "us-east-1") == "queue.amazonaws.com")
        #expect(resolver.legacyHost(endpointPrefix: "sqs", region: "eu-west-1") == "eu-west-1.queue.amazonaws.com")
        #expect(resolver.legacyHost(endpointPrefix: "dynamodb", region: "us-east-1") == nil)
        #expect(try resolver.resolve(endpointPrefix: "sqs", region: "us-east-1").host == "sqs.us-east-1.amazonaws.com")
    }
}
