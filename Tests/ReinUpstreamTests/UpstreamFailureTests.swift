import Foundation
import Synchronization
import Testing
@testable import ReinUpstream

struct UpstreamFailureTests {
    @Test func connectionRefusedIsAConnectError() throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: "http://127.0.0.1:1/", headers: [("Host", "h")]), delegate: recorder)
        recorder.wait()
        let error = try #require(recorder.error)
        #expect(error.kind == .connect)
        #expect(error.curlCode == 7)
        #expect(error.host == "127.0.0.1")
    }

    @Test(arguments: ["ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://127.0.0.1/", "127.0.0.1/no-scheme"])
    func refusesNonHTTPURLs(url: String) throws {
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: url, headers: []), delegate: recorder)
        recorder.wait()
        #expect(recorder.error?.kind == .invalidRequest)
        #expect(recorder.events.withLock { $0.headCount } == 0)
    }

    @Test func cancelMidTransferReportsCancelledOnce() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let chunksAtCancel = Mutex<Int?>(nil)
        let recorder = Recorder(onBody: { exchange, _ in
            chunksAtCancel.withLock { if $0 == nil { $0 = 1 } }
            exchange.cancel()
        })
        let started = ContinuousClock.now
        let exchange = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/slow", headers: [("Host", "h")]), delegate: recorder)
        recorder.wait(seconds: 10)
        #expect(recorder.error?.kind == .cancelled)
        #expect(ContinuousClock.now - started < .seconds(5), "the slow route runs 30 s; cancel must not wait for it")
        // Nothing after the cancel: one chunk, one finish, and later calls are no-ops.
        exchange.cancel()
        #expect(exchange.write([1]))
        Thread.sleep(forTimeInterval: 0.3)
        let events = recorder.events.withLock { $0 }
        #expect(events.bodyChunks == 1)
        #expect(events.finishCount == 1)
    }

    @Test func cancelDuringAnUploadAbortsInsteadOfEndingTheBody() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        let exchange = engine.execute(UpstreamRequest(method: "PUT", url: server.base + "/echo", headers: [("Host", "h")], body: .chunked), delegate: recorder)
        exchange.write(testPayload(10_000))
        Thread.sleep(forTimeInterval: 0.2)
        exchange.cancel()
        recorder.wait(seconds: 10)
        #expect(recorder.error?.kind == .cancelled)
        // The server never saw a complete body, so it never answered.
        #expect(recorder.events.withLock { $0.headCount } == 0)
    }

    @Test func totalTimeoutIsATimeoutError() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine(UpstreamConfiguration(totalTimeout: .milliseconds(500)))
        defer { engine.shutdown() }

        let recorder = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/stall", headers: [("Host", "h")]), delegate: recorder)
        recorder.wait(seconds: 10)
        #expect(recorder.error?.kind == .timeout)
        #expect(recorder.error?.curlCode == 28)
        #expect(recorder.status == 200, "the head arrived before the stall")
    }

    @Test func shutdownFailsInFlightExchangesAndLaterOnes() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()

        let recorder = Recorder(onBody: { _, _ in })
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/slow", headers: [("Host", "h")]), delegate: recorder)
        Thread.sleep(forTimeInterval: 0.3)
        engine.shutdown()
        #expect(recorder.wait(seconds: 5) != nil)
        #expect(recorder.error?.kind == .shutdown)

        let late = Recorder()
        _ = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/echo", headers: [("Host", "h")]), delegate: late)
        #expect(late.events.withLock { $0.finishCount } == 1, "didFinish runs before execute returns once stopped")
        #expect(late.error?.kind == .shutdown)
    }

    @Test func bodyLongerThanDeclaredFailsTheExchange() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        let exchange = engine.execute(UpstreamRequest(method: "PUT", url: server.base + "/echo", headers: [("Host", "h")], body: .length(4)), delegate: recorder)
        exchange.write([1, 2, 3, 4, 5])
        recorder.wait(seconds: 10)
        #expect(recorder.error?.kind == .invalidRequest)
    }

    @Test func bodyShorterThanDeclaredFailsTheExchange() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine()
        defer { engine.shutdown() }

        let recorder = Recorder()
        let exchange = engine.execute(UpstreamRequest(method: "PUT", url: server.base + "/echo", headers: [("Host", "h")], body: .length(4)), delegate: recorder)
        exchange.write([1, 2])
        exchange.finish()
        recorder.wait(seconds: 10)
        #expect(recorder.error?.kind == .invalidRequest)
        #expect(recorder.events.withLock { $0.headCount } == 0, "a truncated body must never be answered")
    }

    @Test func refusesTooSmallBufferConfiguration() {
        let engine = UpstreamEngine(configuration: UpstreamConfiguration(maxBufferedBytesPerDirection: 1024), logger: .init(label: "test"))
        #expect(throws: UpstreamError.self) { try engine.start() }
        do {
            try engine.start()
        } catch {
            #expect(error.kind == .invalidConfiguration)
        }
    }
}
