import Testing
@testable import ReinUpstream

struct UpstreamRequestTests {
    @Test(arguments: [
        ("https://bucket.s3.amazonaws.com/key?x=1", "bucket.s3.amazonaws.com"),
        ("http://127.0.0.1:8080/", "127.0.0.1"),
        ("https://user:pw@host.example:443", "host.example"),
        ("http://[::1]:9000/a", "[::1]"),
    ])
    func extractsHost(url: String, host: String) {
        #expect(UpstreamRequest(method: "GET", url: url, headers: []).host == host)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var request: UpstreamRequest
        var testDescription: String
    }

    @Test(arguments: [
        Refusal(request: .init(method: "GET", url: "ftp://h/", headers: []), testDescription: "ftp scheme"),
        Refusal(request: .init(method: "GET", url: "http:///path", headers: []), testDescription: "no host"),
        Refusal(request: .init(method: "GET", url: "http://h/a b", headers: []), testDescription: "space in URL"),
        Refusal(request: .init(method: "GE T", url: "http://h/", headers: []), testDescription: "method with space"),
        Refusal(request: .init(method: "GET", url: "http://h/", headers: [("X-A", "b\r\nX-Evil: 1")]), testDescription: "CRLF in value"),
        Refusal(request: .init(method: "GET", url: "http://h/", headers: [("X A", "b")]), testDescription: "space in name"),
        Refusal(request: .init(method: "PUT", url: "http://h/", headers: [("Content-Length", "4")], body: .length(3)), testDescription: "length mismatch"),
        Refusal(request: .init(method: "PUT", url: "http://h/", headers: [("Content-Length", "3")], body: .chunked), testDescription: "CL with chunked"),
        Refusal(request: .init(method: "PUT", url: "http://h/", headers: [("Transfer-Encoding", "chunked")], body: .length(3)), testDescription: "TE with length"),
        Refusal(request: .init(method: "GET", url: "http://h/", headers: [("Content-Length", "5")]), testDescription: "CL without body"),
        Refusal(request: .init(method: "HEAD", url: "http://h/", headers: [], body: .length(1)), testDescription: "HEAD with body"),
        Refusal(request: .init(method: "PUT", url: "http://h/", headers: [], body: .length(-1)), testDescription: "negative length"),
    ])
    func refuses(_ refusal: Refusal) {
        #expect(throws: UpstreamError.self) { try refusal.request.validate() }
    }

    @Test func acceptsMatchingFramingHeaders() throws {
        try UpstreamRequest(method: "PUT", url: "https://h/k", headers: [("content-length", "3")], body: .length(3)).validate()
        try UpstreamRequest(method: "POST", url: "https://h/k", headers: [("Transfer-Encoding", "chunked")], body: .chunked).validate()
        try UpstreamRequest(method: "POST", url: "HTTPS://h/k", headers: [("Content-Length", "0")]).validate()
    }
}
