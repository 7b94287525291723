import Testing
@testable import ReinCatalog

/// Each operation's IAM access level, from the service authorization reference.
@Suite struct AccessLevelTests {
    @Test func readAndListAreReadOnlyWhateverTheVerb() throws {
        let catalog = try ServiceCatalog.bundled()
        #expect(catalog.isReadOnly(service: "s3", operation: "GetObject") == true)
        #expect(catalog.isReadOnly(service: "s3", operation: "ListObjectsV2") == true)
        #expect(catalog.isReadOnly(service: "s3", operation: "PutObject") == false)
        #expect(catalog.isReadOnly(service: "kms", operation: "DescribeKey") == true)
        #expect(catalog.isReadOnly(service: "kms", operation: "ListKeys") == true)
        // IAM calls these Write, whatever their verbs suggest.
        #expect(catalog.isReadOnly(service: "kms", operation: "GenerateDataKey") == false)
        #expect(catalog.isReadOnly(service: "sts", operation: "GetCallerIdentity") != nil)
        // By signing name too (a record of an unresolved operation names the signing name).
        #expect(catalog.isReadOnly(service: "monitoring", operation: "GetMetricData") == true)
        #expect(catalog.isReadOnly(service: "s3", operation: "NoSuchOperation") == nil)
        #expect(catalog.service(named: "iam")?.operation(named: "AttachRolePolicy")?.accessLevel == .permissionsManagement)
        #expect(catalog.service(named: "s3")?.operation(named: "PutObjectTagging")?.accessLevel == .tagging)
        // Actions in the catalog's spelling, as IAM matches them (case-insensitively).
        #expect(catalog.canonicalAction("S3:putobject") == "s3:PutObject")
        #expect(catalog.canonicalAction("s3:NoSuchAction") == nil && catalog.canonicalAction("nonsense") == nil)
    }
}
