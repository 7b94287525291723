import Testing
@testable import ReinUpstream

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
