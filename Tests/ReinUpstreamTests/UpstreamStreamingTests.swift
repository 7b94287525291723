import Foundation
import Synchronization
import Testing
@testable import ReinUpstream

/// Large transfers through the engine with a producer and a consumer that honour its
/// backpressure, the way the sidecar's NIO glue does.
struct UpstreamStreamingTests {
    static let cap = 1 << 20
    static let large = 256 << 20

    @Test(arguments: [UpstreamRequest.Body.chunked, .length(large)])
    func streamsALargeUploadWithinTheBufferCap(body: UpstreamRequest.Body) throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine(UpstreamConfiguration(maxBufferedBytesPerDirection: Self.cap))
        defer { engine.shutdown() }

        let canWrite = DispatchSemaphore(value: 0)
        let recorder = Recorder(onCanAccept: { _ in canWrite.signal() })
        let exchange = engine.execute(UpstreamRequest(method: "PUT", url: server.base + "/echo", headers: [("Host", "h")], body: body), delegate: recorder)

        var block = testPayload(64 * 1024)
        let digest = SHA256Digest()
        var waits = 0
        for index in 0..<(Self.large / block.count) {
            // Stamp the index so the stream is not periodic: a lost or repeated chunk changes the digest.
            withUnsafeBytes(of: UInt64(index)) { block.replaceSubrange(0..<8, with: $0) }
            digest.update(block)
            if !exchange.write(block) {
                waits += 1
                guard canWrite.wait(timeout: .now() + 60) == .success else {
                    Issue.record("no upstreamCanAcceptMoreBody after write returned false")
                    break
                }
            }
        }
        exchange.finish()
        let timings = try #require(recorder.wait(seconds: 300)).get()
        #expect(recorder.header("x-echo-length") == String(Self.large))
        #expect(recorder.header("x-echo-sha256") == digest.hex())
        #expect(timings.bytesSent == Self.large)
        #expect(waits > 0, "the producer never had to wait, so backpressure was not exercised")
        #expect(recorder.events.withLock { $0.canAcceptCount } == waits)
        #expect(exchange.peakBufferedRequestBytes <= Self.cap)
    }

    @Test func streamsALargeDownloadWithinTheBufferCap() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine(UpstreamConfiguration(maxBufferedBytesPerDirection: Self.cap))
        defer { engine.shutdown() }

        let consumer = SlowConsumer(pauseAbove: 512 * 1024, resumeBelow: 128 * 1024)
        let exchange = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/bytes/\(Self.large)", headers: [("Host", "h")]), delegate: consumer)
        let outcome = try #require(consumer.run(exchange, timeoutSeconds: 300))
        let timings = try outcome.result.get()
        #expect(timings.bytesReceived == Self.large)
        #expect(outcome.received == Self.large)
        #expect(outcome.digest == outcome.expectedDigest)
        #expect(outcome.pauses > 0, "the consumer never paused, so backpressure was not exercised")
        #expect(outcome.peakQueued <= 512 * 1024 + 64 * 1024, "the engine kept delivering after pauseResponse()")
        #expect(exchange.peakBufferedResponseBytes > 0)
        #expect(exchange.peakBufferedResponseBytes <= Self.cap)
    }

    @Test func pausedResponseDeliversNothingUntilResumed() throws {
        let server = try FixtureServer()
        defer { server.stop() }
        let engine = try makeEngine(UpstreamConfiguration(maxBufferedBytesPerDirection: 256 * 1024))
        defer { engine.shutdown() }

        let paused = Atomic(false)
        let recorder = Recorder(onBody: { exchange, _ in
            guard paused.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            // Paused from inside didReceiveBody: the engine must deliver nothing more until resumed.
            exchange.pauseResponse()
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.5)
                exchange.resumeResponse()
            }
        })
        let size = 8 << 20
        let exchange = engine.execute(UpstreamRequest(method: "GET", url: server.base + "/bytes/\(size)", headers: [("Host", "h")]), delegate: recorder)
        // Sample the delivered chunk count while the consumer is paused.
        Thread.sleep(forTimeInterval: 0.25)
        let duringPause = recorder.events.withLock { $0.bodyChunks }
        _ = try #require(recorder.wait(seconds: 60)).get()
        #expect(duringPause == 1, "only the chunk that triggered the pause may arrive while paused")
        #expect(recorder.body.count == size)
        #expect(SHA256Digest.hex(recorder.body) == recorder.header("x-content-sha256"))
        #expect(exchange.peakBufferedResponseBytes > 0)
        #expect(exchange.peakBufferedResponseBytes <= 256 * 1024)
    }
}

/// A consumer on its own thread, standing in for a slow agent connection: it pauses the
/// response when its queue is high and resumes once it drained.
final class SlowConsumer: UpstreamDelegate {
    struct Outcome {
        var result: Result<UpstreamTimings, UpstreamError>
        var received: Int
        var digest: String
        var expectedDigest: String?
        var pauses: Int
        var peakQueued: Int
    }

    private struct State {
        var chunks: [[UInt8]] = []
        var queued = 0
        var peakQueued = 0
        var paused = false
        var pauses = 0
        var expectedDigest: String?
        var result: Result<UpstreamTimings, UpstreamError>?
    }

    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)
    private let pauseAbove: Int
    private let resumeBelow: Int

    init(pauseAbove: Int, resumeBelow: Int) {
        self.pauseAbove = pauseAbove
        self.resumeBelow = resumeBelow
    }

    func didReceiveHead(_ exchange: UpstreamExchange, status: Int, headers: [(name: String, value: String)]) {
        state.withLock { $0.expectedDigest = headers.first { $0.name == "x-content-sha256" }?.value }
    }

    func didReceiveBody(_ exchange: UpstreamExchange, bytes: [UInt8]) {
        let pause = state.withLock { s -> Bool in
            s.chunks.append(bytes)
            s.queued += bytes.count
            s.peakQueued = max(s.peakQueued, s.queued)
            guard !s.paused, s.queued > pauseAbove else { return false }
            s.paused = true
            s.pauses += 1
            return true
        }
        if pause { exchange.pauseResponse() }
        ready.signal()
    }

    func didFinish(_ exchange: UpstreamExchange, result: Result<UpstreamTimings, UpstreamError>) {
        state.withLock { $0.result = result }
        ready.signal()
    }

    /// Drains on the calling thread, slower than loopback delivers, until didFinish.
    func run(_ exchange: UpstreamExchange, timeoutSeconds: Double) -> Outcome? {
        let digest = SHA256Digest()
        var received = 0
        var taken = 0
        let deadline = DispatchTime.now() + timeoutSeconds
        while true {
            let (chunk, resume, result) = state.withLock { s -> ([UInt8]?, Bool, Result<UpstreamTimings, UpstreamError>?) in
                guard !s.chunks.isEmpty else { return (nil, false, s.result) }
                let chunk = s.chunks.removeFirst()
                s.queued -= chunk.count
                let resume = s.paused && s.queued < resumeBelow
                if resume { s.paused = false }
                return (chunk, resume, nil)
            }
            if let chunk {
                digest.update(chunk)
                received += chunk.count
                taken += 1
                if taken % 32 == 0 { Thread.sleep(forTimeInterval: 0.001) }
                if resume { exchange.resumeResponse() }
                continue
            }
            if let result {
                let s = state.withLock { $0 }
                return Outcome(result: result, received: received, digest: digest.hex(), expectedDigest: s.expectedDigest, pauses: s.pauses, peakQueued: s.peakQueued)
            }
            guard ready.wait(timeout: deadline) == .success else { return nil }
        }
    }
}
