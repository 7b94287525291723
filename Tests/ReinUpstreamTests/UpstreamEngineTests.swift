import Foundation
import Testing
@testable import ReinUpstream

struct UpstreamEngineTests {
    static let signedHeaders: [(name: String, value: String)] = [
        ("Host", "bucket.s3.us-east-1.amazonaws.com"),
        ("X-Amz-Date", "20250101T000000Z"),
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"),
        ("x-lower-case", "Mixed Value"),
        ("X-Empty", ""),
    ]

    @Test func sendsHeadersExactlyAsGivenAndNothingElse() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/echo", headers: Self.signedHeaders), delegate: recorder)
        #expect(try #require(recorder.wait()).get().bytesReceived > 0)
        let received = try #require(echoedHeaders(recorder.body))
        #expect(sameHeaders(received, Self.signedHeaders), "upstream saw \(received)")
    }

    @Test func sendsAWhitespaceOnlyValueInsteadOfDroppingTheHeader() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/echo", headers: [("Host", "h"), ("X-Blank", "  ")]), delegate: recorder)
        _ = try #require(recorder.wait()).get()
        let received = try #require(echoedHeaders(recorder.body))
        #expect(sameHeaders(received, [("Host", "h"), ("X-Blank", "")]), "upstream saw \(received)")
    }

    @Test(arguments: [UpstreamRequest.Body.length(5), .chunked])
    func addsOnlyTheFramingHeader(body: UpstreamRequest.Body) throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        let exchange = engine.execute(UpstreamRequest(method: "POST", url: server.base + "/echo", headers: Self.signedHeaders, body: body), delegate: recorder)
        exchange.write(Array("hello".utf8))
        exchange.finish()
        _ = try #require(recorder.wait()).get()
        let received = try #require(echoedHeaders(recorder.body))
        let framing: (name: String, value: String) = body == .chunked ? ("Transfer-Encoding", "chunked") : ("Content-Length", "5")
        #expect(sameHeaders(received, Self.signedHeaders + [framing]), "upstream saw \(received)")
        #expect(recorder.header("x-echo-sha256") == SHA256Digest.hex(Array("hello".utf8)))
    }

    @Test func keepsCallerFramingHeaderWithoutDuplicating() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let headers = [("Host", "h"), ("Content-Length", "3"), ("X-After", "1")]
        let recorder = Recorder()
        let exchange = engine.execute(UpstreamRequest(method: "PUT", url: server.base + "/echo", headers: headers, body: .length(3)), delegate: recorder)
        exchange.write([1, 2, 3])
        _ = try #require(recorder.wait()).get()
        let received = try #require(echoedHeaders(recorder.body))
        #expect(sameHeaders(received, headers), "upstream saw \(received)")
    }

    struct MethodCase: Sendable, CustomTestStringConvertible {
        var method: String
        var body: UpstreamRequest.Body
        var testDescription: String { "\(method) \(body)" }
    }

    @Test(arguments: [
        MethodCase(method: "GET", body: .none), MethodCase(method: "HEAD", body: .none),
        MethodCase(method: "DELETE", body: .none), MethodCase(method: "POST", body: .none),
        MethodCase(method: "PUT", body: .length(150_000)), MethodCase(method: "POST", body: .length(150_000)),
        MethodCase(method: "PUT", body: .chunked), MethodCase(method: "POST", body: .chunked),
        MethodCase(method: "DELETE", body: .length(1_000)), MethodCase(method: "PUT", body: .length(0)),
        MethodCase(method: "GET", body: .chunked),
    ])
    func echoesEveryMethodByteExact(_ testCase: MethodCase) throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let payload: [UInt8] = switch testCase.body {
        case .none: []
        case .length(let count): testPayload(count)
        case .chunked: testPayload(123_457)
        }
        let recorder = Recorder()
        let exchange = engine.execute(UpstreamRequest(method: testCase.method, url: server.base + "/echo", headers: [("Host", "echo.test")], body: testCase.body), delegate: recorder)
        // Three writes of uneven size so the read callback sees chunk boundaries.
        let cuts = [0, payload.count / 3, min(payload.count, payload.count / 3 + 7), payload.count]
        for (start, end) in zip(cuts, cuts.dropFirst()) where start < end {
            exchange.write(Array(payload[start..<end]))
        }
        exchange.finish()
        _ = try #require(recorder.wait()).get()
        #expect(recorder.status == 200)
        #expect(recorder.header("x-echo-method") == testCase.method)
        #expect(recorder.header("x-echo-length") == String(payload.count))
        #expect(recorder.header("x-echo-sha256") == SHA256Digest.hex(payload))
        if testCase.method == "HEAD" {
            #expect(recorder.body.isEmpty)
        } else {
            #expect(echoedHeaders(recorder.body) != nil)
        }
    }

    @Test func reusesTheConnectionForSequentialRequests() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        var reused: [Bool] = []
        for _ in 0..<2 {
            let recorder = Recorder()
            let exchange = engine.execute(UpstreamRequest(method: "PUT", url: server.base + "/echo", headers: [("Host", "h")], body: .length(4)), delegate: recorder)
            exchange.write([1, 2, 3, 4])
            reused.append(try #require(recorder.wait()).get().reusedConnection)
        }
        #expect(reused == [false, true])
    }

    @Test func skipsInterimResponses() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/interim", headers: [("Host", "h")]), delegate: recorder)
        _ = try #require(recorder.wait()).get()
        #expect(recorder.events.withLock { $0.headCount } == 1)
        #expect(recorder.status == 200)
        #expect(recorder.header("x-final") == "yes")
        #expect(recorder.header("link") == nil)
        #expect(recorder.body == Array("final\n".utf8))
    }

    @Test func passesResponseHeadersVerbatimAndInOrder() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/amz", headers: [("Host", "h")]), delegate: recorder)
        _ = try #require(recorder.wait()).get()
        let names = recorder.events.withLock { $0.headers.map(\.name) }
        #expect(names.filter { $0 != "Date" && $0 != "Server" } == ["Content-Type", "x-amz-request-id", "x-amz-id-2", "Content-Length"])
        #expect(recorder.header("x-amz-request-id") == "4442587FB7D0A2F9")
        #expect(recorder.header("x-amz-id-2") == "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo=")
    }

    @Test func dechunksTheResponseAndIgnoresTrailers() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/bytes/1000003?chunked=1", headers: [("Host", "h")]), delegate: recorder)
        let timings = try #require(recorder.wait()).get()
        #expect(timings.bytesReceived == 1_000_003)
        #expect(recorder.body.count == 1_000_003)
        #expect(SHA256Digest.hex(recorder.body) == recorder.header("x-content-sha256"))
        #expect(recorder.header("x-trailer") == nil)
    }

    @Test func reportsHTTPErrorStatusesAsResponses() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/status/404", headers: [("Host", "h")]), delegate: recorder)
        _ = try #require(recorder.wait()).get()
        #expect(recorder.status == 404)
        #expect(recorder.body == Array("status\n".utf8))
    }
}
