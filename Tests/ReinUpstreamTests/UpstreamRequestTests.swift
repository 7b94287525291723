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

struct ResponseHeadParserTests {
    private func feed(_ lines: [String]) -> [ResponseHeadParser.Head] {
        var parser = ResponseHeadParser()
        return lines.compactMap { line in
            Array(line.utf8).withUnsafeBytes { parser.consume($0) }
        }
    }

    @Test func skipsInterimBlocksAndKeepsOrder() {
        let heads = feed([
            "HTTP/1.1 100 Continue\r\n", "\r\n",
            "HTTP/1.1 103 Early Hints\r\n", "Link: </a>\r\n", "\r\n",
            "HTTP/1.1 200 OK\r\n", "x-amz-request-id: ABC\r\n", "Content-Length:  12 \r\n", "ETag: \"e\"\r\n", "\r\n",
        ])
        #expect(heads == [.init(status: 200, headers: [("x-amz-request-id", "ABC"), ("Content-Length", "12"), ("ETag", "\"e\"")])])
    }

    @Test func joinsFoldedLinesAndKeepsEmptyValues() {
        let heads = feed(["HTTP/1.1 404 Not Found\r\n", "X-A: one\r\n", "  two\r\n", "X-Empty:\r\n", "\r\n"])
        #expect(heads == [.init(status: 404, headers: [("X-A", "one two"), ("X-Empty", "")])])
    }

    @Test func treats101AsFinal() {
        #expect(feed(["HTTP/1.1 101 Switching Protocols\r\n", "\r\n"]).map(\.status) == [101])
    }
}
