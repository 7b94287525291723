import Foundation
import ReinSigV4
import Testing
@testable import ReinCatalog

/// Routing, action mapping and resource extraction on hand-built requests,
/// including the fail-closed cases.
struct RequestAnalyzerTests {
    static let catalog: ServiceCatalog = {
        do { return try ServiceCatalog.bundled() } catch { fatalError("\(error)") }
    }()
    static let analyzer = RequestAnalyzer(catalog: catalog, accountId: "123456789012")

    static func request(_ method: String, _ target: String, service: String, region: String = "us-east-1",
                        host: String = "127.0.0.1:4566", headers: [(String, String)] = [], body: String? = nil) -> CatalogRequest {
        let r = SignableRequest(method: method, target: target,
                                headers: [HTTPHeader("Host", host)] + headers.map { HTTPHeader($0.0, $0.1) })
        return CatalogRequest(r, body: body.map { .bytes(Array($0.utf8)) } ?? .bytes([]),
                              scope: CredentialScope(date: "20260101", region: region, service: service))
    }

    static func known(_ r: CatalogRequest, sourceLocation: SourceLocation = #_sourceLocation) -> ResolvedRequest? {
        switch analyzer.analyze(r) {
        case .known(let resolved): return resolved
        case .unknown(let why):
            Issue.record("unexpectedly unknown: \(why)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func unknown(_ r: CatalogRequest) -> UnknownReason? {
        if case .unknown(let why) = analyzer.analyze(r) { return why }
        return nil
    }

    @Test func catalogCoversEveryBotocoreService() {
        #expect(Self.catalog.header.services >= 400)
        #expect(Self.catalog.header.botocore == "1.43.11")
        #expect(Self.catalog.service(named: "s3")?.operation(named: "GetObject") != nil)
    }

    @Test func s3PathStyleGetObject() throws {
        let r = try #require(Self.known(Self.request("GET", "/my.bucket/a%20b/c%2Bd.txt?x-id=GetObject", service: "s3")))
        #expect(r.service == "s3" && r.operation == "GetObject")
        #expect(r.grants == [ActionResources(action: "s3:GetObject", resources: ["arn:aws:s3:::my.bucket/a b/c+d.txt"])])
    }

    @Test func s3VersionIdSelectsVersionAction() throws {
        let r = try #require(Self.known(Self.request("GET", "/b/k?versionId=v1", service: "s3")))
        #expect(r.actions == ["s3:GetObjectVersion"])
    }

    @Test func s3VirtualHostedWithDotsAndRegion() throws {
        let r = try #require(Self.known(Self.request("GET", "/?list-type=2&prefix=logs%2F", service: "s3", region: "eu-west-1",
                                                      host: "my.dotted.bucket.s3.eu-west-1.amazonaws.com")))
        #expect(r.operation == "ListObjectsV2")
        #expect(r.grants == [ActionResources(action: "s3:ListBucket", resources: ["arn:aws:s3:::my.dotted.bucket"])])
    }

    @Test func s3AccessPointHost() throws {
        let r = try #require(Self.known(Self.request("GET", "/report.csv", service: "s3", region: "us-west-2",
                                                      host: "finance-ap-111122223333.s3-accesspoint.us-west-2.amazonaws.com")))
        #expect(r.resources == ["arn:aws:s3:us-west-2:111122223333:accesspoint/finance-ap/object/report.csv"])
    }

    @Test func s3CopyObjectNeedsSourceRead() throws {
        let r = try #require(Self.known(Self.request("PUT", "/dst/new.txt", service: "s3",
                                                      headers: [("x-amz-copy-source", "src%20bucket/dir/old%20file.txt?versionId=3")])))
        #expect(r.operation == "CopyObject")
        #expect(r.grants == [
            ActionResources(action: "s3:PutObject", resources: ["arn:aws:s3:::dst/new.txt"]),
            // A versioned copy source needs s3:GetObjectVersion.
            ActionResources(action: "s3:GetObjectVersion", resources: ["arn:aws:s3:::src bucket/dir/old file.txt"]),
        ])
    }

    @Test func s3PutObjectWithoutCopySourceIsPutObject() throws {
        let r = try #require(Self.known(Self.request("PUT", "/dst/new.txt", service: "s3")))
        #expect(r.operation == "PutObject")
    }

    @Test func s3DeleteObjectsNamesEveryKey() throws {
        let body = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>a.txt</Key></Object><Object><Key>dir/b.txt</Key></Object><Quiet>true</Quiet></Delete>"
        let r = try #require(Self.known(Self.request("POST", "/bkt?delete", service: "s3", body: body)))
        #expect(r.operation == "DeleteObjects")
        #expect(r.resources.sorted() == ["arn:aws:s3:::bkt/a.txt", "arn:aws:s3:::bkt/dir/b.txt"])
    }

    @Test func dynamoDBBatchWriteNamesEveryTable() throws {
        let body = #"{"RequestItems":{"Orders":[{"PutRequest":{"Item":{"pk":{"S":"1"}}}}],"Users":[{"DeleteRequest":{"Key":{"pk":{"S":"2"}}}}]}}"#
        let r = try #require(Self.known(Self.request("POST", "/", service: "dynamodb",
                                                      headers: [("X-Amz-Target", "DynamoDB_20120810.BatchWriteItem")], body: body)))
        #expect(r.actions == ["dynamodb:BatchWriteItem"])
        #expect(r.resources.sorted() == ["arn:aws:dynamodb:us-east-1:123456789012:table/Orders",
                                         "arn:aws:dynamodb:us-east-1:123456789012:table/Users"])
    }

    @Test func jsonPutItemAndPartition() throws {
        let r = try #require(Self.known(Self.request("POST", "/", service: "dynamodb", region: "cn-north-1",
                                                      headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem")],
                                                      body: #"{"TableName":"T","Item":{}}"#)))
        #expect(r.resources == ["arn:aws-cn:dynamodb:cn-north-1:123456789012:table/T"])
    }

    @Test func queryProtocolSNSPublishByARN() throws {
        let body = "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A999999999999%3Aalerts&Message=hi"
        let r = try #require(Self.known(Self.request("POST", "/", service: "sns",
                                                      headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body)))
        #expect(r.operation == "Publish")
        #expect(r.grants == [ActionResources(action: "sns:Publish", resources: ["arn:aws:sns:us-east-1:999999999999:alerts"])])
    }

    @Test func sqsQueueURLKeepsItsAccount() throws {
        let body = #"{"QueueUrl":"http://127.0.0.1:4566/444455556666/jobs","MessageBody":"x"}"#
        let r = try #require(Self.known(Self.request("POST", "/", service: "sqs",
                                                      headers: [("X-Amz-Target", "AmazonSQS.SendMessage")], body: body)))
        #expect(r.resources == ["arn:aws:sqs:us-east-1:444455556666:jobs"])
    }

    @Test func noResourceLevelPermissionsIsStar() throws {
        let r = try #require(Self.known(Self.request("GET", "/", service: "s3")))
        #expect(r.operation == "ListBuckets")
        #expect(r.grants == [ActionResources(action: "s3:ListAllMyBuckets", resources: ["*"])])
    }

    // MARK: - Fail closed

    @Test func duplicateJSONKeysAreUnknown() {
        let body = #"{"TableName":"Allowed","Item":{},"TableName":"Secret"}"#
        let why = Self.unknown(Self.request("POST", "/", service: "dynamodb",
                                            headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem")], body: body))
        #expect(why?.kind == .malformedBody)
    }

    @Test func repeatedScalarQueryParameterIsUnknown() {
        let why = Self.unknown(Self.request("GET", "/b/k?versionId=1&versionId=2", service: "s3"))
        #expect(why?.kind == .ambiguous)
    }

    @Test func unknownTargetIsUnknown() {
        let why = Self.unknown(Self.request("POST", "/", service: "dynamodb", headers: [("X-Amz-Target", "DynamoDB_20120810.DropEverything")], body: "{}"))
        #expect(why?.kind == .unknownOperation)
    }

    @Test func unknownServiceIsUnknown() {
        #expect(Self.unknown(Self.request("GET", "/", service: "not-a-service"))?.kind == .unknownService)
    }

    @Test func hostMustAgreeWithScope() {
        let why = Self.unknown(Self.request("POST", "/", service: "dynamodb", host: "sqs.us-east-1.amazonaws.com",
                                            headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem")], body: #"{"TableName":"T"}"#))
        #expect(why?.kind == .hostMismatch)
        let region = Self.unknown(Self.request("POST", "/", service: "dynamodb", host: "dynamodb.eu-west-1.amazonaws.com",
                                               headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem")], body: #"{"TableName":"T"}"#))
        #expect(region?.kind == .hostMismatch)
    }

    @Test func unreadBodyIsUnknown() {
        let head = SignableRequest(method: "POST", target: "/", headers: [HTTPHeader("Host", "127.0.0.1"),
                                                                          HTTPHeader("X-Amz-Target", "DynamoDB_20120810.PutItem")])
        let r = CatalogRequest(head, body: .notBuffered, scope: CredentialScope(date: "20260101", region: "us-east-1", service: "dynamodb"))
        #expect(Self.unknown(r)?.kind == .bodyNotInspected)
    }

    @Test func arnOfAnotherServiceIsUnknown() {
        let body = "Action=Publish&TopicArn=arn%3Aaws%3Asqs%3Aus-east-1%3A1%3Aq&Message=hi"
        let why = Self.unknown(Self.request("POST", "/", service: "sns", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body))
        #expect(why?.kind == .unresolvedResource)
    }

    @Test func duplicateFormParameterIsUnknown() {
        let body = "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Aa&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Ab&Message=hi"
        let why = Self.unknown(Self.request("POST", "/", service: "sns", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body))
        #expect(why?.kind == .ambiguous)
    }
}

extension RequestAnalyzerTests {
    @Test func s3BucketLevelOperations() throws {
        #expect(Self.known(Self.request("PUT", "/new-bucket", service: "s3"))?.operation == "CreateBucket")
        #expect(Self.known(Self.request("GET", "/b?location", service: "s3"))?.actions == ["s3:GetBucketLocation"])
        #expect(Self.known(Self.request("DELETE", "/b?tagging", service: "s3"))?.actions == ["s3:PutBucketTagging"])
    }
}

extension RequestAnalyzerTests {
    /// A denial names the action, the resource and the reason, in the shape
    /// of the request's protocol.
    @Test func denialNamesActionAndResource() throws {
        let r = try #require(Self.known(Self.request("GET", "/reports/q1.csv", service: "s3")))
        let denied = r.accessDenied(action: "s3:GetObject", resource: "arn:aws:s3:::reports/q1.csv",
                                    reason: "no statement of task t-42 allows s3:GetObject", requestId: "req-1")
        let body = String(decoding: denied.body, as: UTF8.self)
        #expect(denied.status == 403)
        #expect(body.contains("<Code>AccessDenied</Code>"))
        #expect(body.contains("s3:GetObject on resource: arn:aws:s3:::reports/q1.csv because no statement of task t-42"))
        let j = try #require(Self.known(Self.request("POST", "/", service: "dynamodb",
                                                      headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem")], body: #"{"TableName":"T"}"#)))
        let jsonDenied = j.accessDenied(action: "dynamodb:PutItem", resource: "arn:aws:dynamodb:us-east-1:123456789012:table/T",
                                        reason: "the task expired", requestId: "req-2")
        #expect(String(decoding: jsonDenied.body, as: UTF8.self).contains("AccessDeniedException"))
    }
}

extension RequestAnalyzerTests {
    /// A body declared as one format but read as another is unknown.
    @Test func declaredTypeMustMatchTheProtocol() {
        let form = Self.unknown(Self.request("POST", "/", service: "dynamodb",
                                             headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem"),
                                                       ("Content-Type", "application/x-www-form-urlencoded")],
                                             body: #"{"TableName":"T"}"#))
        #expect(form?.kind == .malformedBody)
        let json = Self.unknown(Self.request("POST", "/b?delete", service: "s3", headers: [("Content-Type", "application/json")],
                                             body: "<Delete><Object><Key>k</Key></Object></Delete>"))
        #expect(json?.kind == .malformedBody)
        // The protocol's own types are fine.
        #expect(Self.known(Self.request("POST", "/", service: "dynamodb",
                                        headers: [("X-Amz-Target", "DynamoDB_20120810.PutItem"), ("Content-Type", "application/x-amz-json-1.0")],
                                        body: #"{"TableName":"T"}"#)) != nil)
    }
}
