import Testing
import ReinTLS

struct ServerNameTests {
    @Test(arguments: [
        ("dynamodb.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"),
        ("My-Bucket.S3.us-west-2.AmazonAWS.com", "my-bucket.s3.us-west-2.amazonaws.com"),
        ("localhost", "localhost"),
        ("a1.b2.c3", "a1.b2.c3"),
        (String(repeating: "a", count: 63) + ".com", String(repeating: "a", count: 63) + ".com"),
    ])
    func acceptsHostNames(input: String, normalized: String) throws {
        #expect(try ServerName.normalized(input) == normalized)
    }

    @Test(arguments: [
        "", ".", "example.com.", ".example.com", "a..b", "-a.com", "a-.com", "*.amazonaws.com",
        "under_score.com", "127.0.0.1", "10.0.0.300", "exa mple.com", "bücher.de", "a,b.com", "a/b.com",
        "host\u{0}.com", String(repeating: "a", count: 64) + ".com",
        Array(repeating: String(repeating: "a", count: 50), count: 5).joined(separator: "."),
    ])
    func rejectsEverythingElse(input: String) {
        #expect(throws: TLSError.self) { try ServerName.normalized(input) }
    }
}
