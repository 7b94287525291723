import Testing
@testable import ReinCatalog

/// AWS's error code, read from an error response the way the SDKs read it.
@Suite struct UpstreamErrorCodeTests {
    private func code(headers: [(String, String)] = [], chunks: [String], status: Int) -> String {
        var reader = UpstreamErrorCode()
        for (n, v) in headers { reader.header(name: n, value: v) }
        for c in chunks { reader.body(Array(c.utf8)) }
        return reader.code(status: status)
    }

    @Test func s3AndQueryXMLBodiesNameTheirCode() {
        let s3 = #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"#
        // Split across chunks as it arrives from upstream.
        #expect(code(chunks: [String(s3.prefix(50)), String(s3.dropFirst(50))], status: 404) == "NoSuchKey")
        let query = #"<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>x</Message></Error></ErrorResponse>"#
        #expect(code(chunks: [query], status: 404) == "NoSuchEntity")
    }

    @Test func jsonServicesNameItInAHeaderOrTheirType() {
        #expect(code(headers: [("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.dynamodb.v20120810/")],
                     chunks: [#"{"message":"x"}"#], status: 400) == "ResourceNotFoundException")
        #expect(code(chunks: [#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"Table already exists"}"#],
                     status: 400) == "ResourceInUseException")
        #expect(code(chunks: [#"{"code" : "ValidationException", "message":"x"}"#], status: 400) == "ValidationException")
    }

    @Test func aBodilessErrorIsItsStatusAsTheSDKsReportIt() {
        #expect(code(chunks: [], status: 404) == "404")
        #expect(code(chunks: ["<html>gateway</html>"], status: 502) == "502")
        // Only the start of a long body is kept.
        var reader = UpstreamErrorCode()
        reader.body([UInt8](repeating: UInt8(ascii: " "), count: UpstreamErrorCode.prefixLimit))
        reader.body(Array("<Code>Late</Code>".utf8))
        #expect(reader.code(status: 500) == "500")
    }
}
