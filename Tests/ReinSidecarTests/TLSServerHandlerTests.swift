import CReinOpenSSL
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import ReinSidecar
import ReinTLS
import ReinServiceKit
import Synchronization
import Testing

/// The handler driven through an `EmbeddedChannel` by an in-memory OpenSSL
/// client: events, ordering, held writes, close_notify and half-closure.
/// `TLSServerHandlerEndToEndTests` covers real sockets and real clients.
struct TLSServerHandlerTests {
    static let name = "dynamodb.us-east-1.amazonaws.com"

    /// A channel with the TLS handler and a recorder behind it, plus a client.
    final class Harness {
        let temp: TLSTemporaryDirectory
        let authority: CertificateAuthority
        let channel = EmbeddedChannel()
        let recorder = EventRecorder()
        let logs = LogCapture()
        let client: MemoryTLSClient

        init(serverName: String? = TLSServerHandlerTests.name, halfClosure: Bool = false) throws {
            temp = try TLSTemporaryDirectory()
            authority = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
            let context = try TLSServerContext(certificates: LeafCertificateCache(authority: authority)) {
                $0 == TLSServerHandlerTests.name
            }
            channel.allowRemoteHalfClosure = halfClosure
            try channel.pipeline.syncOperations.addHandlers(
                TLSServerHandler(context: context, logger: logs.logger()), recorder)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
            client = try MemoryTLSClient(caPEM: authority.certificatePEM, serverName: serverName)
        }

        /// Runs the deferred handler removal, or the pipeline (and the engine) would leak.
        deinit { _ = try? channel.finish(acceptAlreadyClosed: true) }

        /// Moves bytes both ways until nothing moves; rethrows an error the server fired.
        func pump() throws {
            for _ in 0..<10 {
                if !client.isHandshakeComplete { client.handshake() }
                let toServer = client.drain()
                if !toServer.isEmpty { try channel.writeInbound(ByteBuffer(bytes: toServer)) }
                var toClient = 0
                while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                    toClient += buffer.readableBytes
                    client.feed(Array(buffer.readableBytesView))
                }
                if toServer.isEmpty && toClient == 0 && client.isHandshakeComplete { return }
            }
        }

        func readInboundText() throws -> String {
            var text = ""
            while let buffer = try channel.readInbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }
    }

    @Test func firesHandshakeCompletedOnceThenPassesPlaintextBothWays() throws {
        let h = try Harness()
        try h.pump()
        #expect(h.recorder.handshakes == [.init(serverName: Self.name, protocolVersion: "TLSv1.3")])
        #expect(h.client.verifyResult == Int(X509_V_OK))

        #expect(h.client.write(Array("ping".utf8)))
        try h.pump()
        #expect(try h.readInboundText() == "ping")

        try h.channel.writeAndFlush(ByteBuffer(string: "pong")).wait()
        try h.pump()
        #expect(String(decoding: h.client.read().data, as: UTF8.self) == "pong")
        #expect(h.recorder.handshakes.count == 1)
        #expect(h.logs.records.contains { $0.message == "TLS handshake completed" && $0.metadata["tls.sni"] == Self.name })
    }

    @Test func holdsWritesIssuedBeforeTheHandshake() throws {
        let h = try Harness()
        let written = h.channel.writeAndFlush(ByteBuffer(string: "early"))
        #expect(try h.channel.readOutbound(as: ByteBuffer.self) == nil)
        try h.pump()
        try written.wait()
        #expect(String(decoding: h.client.read().data, as: UTF8.self) == "early")
    }

    @Test func peerCloseNotifyClosesTheChannelAfterAnsweringIt() throws {
        let h = try Harness()
        try h.pump()
        #expect(SSL_shutdown(h.client.ssl) >= 0)
        try h.pump()
        #expect(h.client.read().closed)
        #expect(!h.channel.isActive)
        #expect(!h.recorder.inputClosed)
    }

    @Test func peerCloseNotifyIsInputClosedUnderHalfClosure() throws {
        let h = try Harness(halfClosure: true)
        try h.pump()
        #expect(SSL_shutdown(h.client.ssl) >= 0)
        try h.pump()
        #expect(h.recorder.inputClosed)
        #expect(h.channel.isActive)
        try h.channel.writeAndFlush(ByteBuffer(string: "bye")).wait()
        try h.pump()
        let read = h.client.read()
        #expect(String(decoding: read.data, as: UTF8.self) == "bye")
        #expect(!read.closed)
        try h.channel.close().wait()
        try h.pump()
        #expect(h.client.read().closed)
    }

    @Test func closeFromThePipelineSendsCloseNotify() throws {
        let h = try Harness()
        try h.pump()
        try h.channel.close().wait()
        try h.pump()
        #expect(h.client.read().closed)
        #expect(!h.channel.isActive)
    }

    @Test func malformedClientHelloClosesTheChannelAfterAnAlertAndLogs() throws {
        let h = try Harness()
        let error = #expect(throws: TLSError.self) {
            // A handshake record holding a ClientHello whose body is one junk byte.
            try h.channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]))
        }
        #expect(error?.code == .handshakeFailed)
        let alert = try h.channel.readOutbound(as: ByteBuffer.self)
        #expect(alert?.getInteger(at: alert?.readerIndex ?? 0, as: UInt8.self) == 21)  // TLS alert record
        #expect(!h.channel.isActive)
        #expect(h.recorder.handshakes.isEmpty)
        let record = h.logs.records.first { $0.message == "TLS handshake failed" }
        #expect(record?.metadata["tls.error.code"] == "handshakeFailed")
    }

    @Test func refusedServerNameIsLoggedWithTheName() throws {
        let h = try Harness(serverName: "evil.example.com")
        let error = #expect(throws: TLSError.self) { try h.pump() }
        #expect(error?.code == .serverNameRefused)
        #expect(!h.channel.isActive)
        #expect(!h.client.isHandshakeComplete)
        let record = h.logs.records.first { $0.message == "TLS handshake failed" }
        #expect(record?.metadata["tls.sni"] == "evil.example.com")
        #expect(record?.metadata["tls.error.code"] == "serverNameRefused")
    }

    @Test func closeBeforeTheHandshakeFailsHeldWrites() throws {
        let h = try Harness()
        let written = h.channel.writeAndFlush(ByteBuffer(string: "never"))
        try h.channel.close().wait()
        #expect(throws: (any Error).self) { try written.wait() }
        #expect(try h.channel.readOutbound(as: ByteBuffer.self) == nil)
    }
}

/// Records what the TLS handler passes up the pipeline, into a `Sink` that
/// may be shared by the recorders of several connections.
final class EventRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    final class Sink: Sendable {
        let state = Mutex<(handshakes: [TLSServerHandler.HandshakeCompleted], inputClosed: Bool, errors: [TLSError])>(([], false, []))
    }

    let sink: Sink
    init(sink: Sink = Sink()) { self.sink = sink }

    var handshakes: [TLSServerHandler.HandshakeCompleted] { sink.state.withLock { $0.handshakes } }
    var inputClosed: Bool { sink.state.withLock { $0.inputClosed } }
    var errors: [TLSError] { sink.state.withLock { $0.errors } }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSServerHandler.HandshakeCompleted { sink.state.withLock { $0.handshakes.append(event) } }
        if case .some(.inputClosed) = event as? ChannelEvent { sink.state.withLock { $0.inputClosed = true } }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSError { sink.state.withLock { $0.errors.append(error) } }
        context.fireErrorCaught(error)
    }
}

/// A swift-log handler that keeps every record, for asserting on logs.
final class LogCapture: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let stored = Mutex<[Record]>([])
    var records: [Record] { stored.withLock { $0 } }

    func logger() -> Logger { Logger(label: "rein.test.tls") { _ in Handler(capture: self) } }

    fileprivate func append(_ record: Record) { stored.withLock { $0.append(record) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(Record(level: event.level, message: event.message.description,
                                  metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// A fresh temporary directory, removed on deinit.
final class TLSTemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/rein-tls-handler-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// An OpenSSL client over memory BIOs (the C shim's test support).
final class MemoryTLSClient {
    let context: OpaquePointer
    let ssl: OpaquePointer
    struct SetupFailed: Error {}

    init(caPEM: String, serverName: String?) throws {
        let ca = Array(caPEM.utf8)
        guard let context = ca.withUnsafeBytes({
            CReinOpenSSL_tls_test_client_ctx_new($0.baseAddress, $0.count, 0, 0, nil, 0)
        }) else { throw SetupFailed() }
        self.context = context
        guard let ssl = CReinOpenSSL_ssl_new_client(context, serverName) else {
            SSL_CTX_free(context)
            throw SetupFailed()
        }
        self.ssl = ssl
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }
    var verifyResult: Int { SSL_get_verify_result(ssl) }
    func handshake() { _ = SSL_do_handshake(ssl) }
    func feed(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { CReinOpenSSL_ssl_feed(ssl, $0.baseAddress, $0.count) } }

    func drain() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: CReinOpenSSL_ssl_pending_out(ssl))
        let n = bytes.withUnsafeMutableBytes { CReinOpenSSL_ssl_drain(ssl, $0.baseAddress, $0.count) }
        return Array(bytes.prefix(n))
    }

    func write(_ bytes: [UInt8]) -> Bool {
        var written = 0
        return bytes.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) } == 1
    }

    func read() -> (data: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            var count = 0
            let ok = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if ok == 1 { out += buffer.prefix(count); continue }
            ERR_clear_error()
            return (out, SSL_get_error(ssl, ok) == SSL_ERROR_ZERO_RETURN)
        }
    }
}

/// Real sockets on 127.0.0.1 and real clients: `openssl s_client` and `curl`.
struct TLSServerHandlerEndToEndTests {
    static let name = TLSServerHandlerTests.name

    enum App { case echo, http }

    /// A listening server with the TLS handler and `app` behind it.
    final class Server {
        let temp: TLSTemporaryDirectory
        let authority: CertificateAuthority
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let events = EventRecorder(sink: .init())
        let logs = LogCapture()
        var channel: (any Channel)?
        var port = 0
        var caPath: String { authority.certificatePath }

        init() throws {
            temp = try TLSTemporaryDirectory()
            authority = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca")
        }

        func start(_ app: App) async throws {
            let context = try TLSServerContext(certificates: LeafCertificateCache(authority: authority)) { $0 == Self.allowed }
            let (sink, logger) = (events.sink, logs.logger())
            let bound = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandlers(TLSServerHandler(context: context, logger: logger), EventRecorder(sink: sink))
                        switch app {
                        case .echo: try sync.addHandler(LineEcho())
                        case .http:
                            try sync.configureHTTPServerPipeline()
                            try sync.addHandler(HelloResponder())
                        }
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            channel = bound
            port = bound.localAddress?.port ?? 0
        }

        static let allowed = TLSServerHandlerTests.name

        func stop() async throws {
            try await channel?.close().get()
            try await group.shutdownGracefully()
        }
    }

    /// Runs a tool with a 20-second limit; returns its status and combined output.
    static func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["20"] + arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(arguments: [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")])
    func opensslClientVerifiesAndGetsItsBytesEchoed(flag: String, version: String) async throws {
        let server = try Server()
        try await server.start(.echo)
        let result = try Self.run(["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(server.port)",
                                   "-servername", Self.name, "-CAfile", server.caPath, "-verify_return_error",
                                   "-verify_hostname", Self.name, flag, "-brief", "-ign_eof"],
                                  input: "hello rein\n")
        try await server.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Verification: OK"))
        #expect(result.output.contains("Protocol version: \(version)"))
        #expect(result.output.contains("hello rein"))
        #expect(server.events.handshakes == [.init(serverName: Self.name, protocolVersion: version)])
    }

    @Test(arguments: [([String](), "TLSv1.3"), (["--tlsv1.2", "--tls-max", "1.2"], "TLSv1.2")])
    func curlVerifiesAndGetsAnHTTPResponse(flags: [String], version: String) async throws {
        let server = try Server()
        try await server.start(.http)
        let result = try Self.run(["/usr/bin/curl", "-sS", "--max-time", "15", "--cacert", server.caPath,
                                   "--resolve", "\(Self.name):\(server.port):127.0.0.1",
                                   "-w", "\\nverify=%{ssl_verify_result} http=%{http_version}"]
                                  + flags + ["https://\(Self.name):\(server.port)/"])
        try await server.stop()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == "hello \(Self.name) \(version)\nverify=0 http=1.1")
    }

    @Test func refusedServerNameFailsTheHandshakeAndIsReported() async throws {
        let server = try Server()
        try await server.start(.echo)
        let result = try Self.run(["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(server.port)",
                                   "-servername", "evil.example.com", "-CAfile", server.caPath, "-brief"])
        for _ in 0..<100 where server.events.errors.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        try await server.stop()
        #expect(result.status != 0)
        #expect(result.output.contains("unrecognized name"), "\(result.output)")
        #expect(server.events.errors.map(\.code) == [.serverNameRefused])
        #expect(server.events.handshakes.isEmpty)
        #expect(server.logs.records.contains { $0.metadata["tls.sni"] == "evil.example.com" && $0.level == .info })
    }
}

/// Echoes bytes back and closes (with close_notify) after a newline.
final class LineEcho: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        context.write(wrapOutboundOut(buffer), promise: nil)
        if buffer.readableBytesView.contains(UInt8(ascii: "\n")) {
            context.flush()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

/// Answers every request with "hello <SNI name> <TLS version>", then closes.
final class HelloResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var tls = "unknown"

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let done = event as? TLSServerHandler.HandshakeCompleted { tls = "\(done.serverName) \(done.protocolVersion)" }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = ByteBuffer(string: "hello \(tls)")
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "content-length", value: "\(body.readableBytes)")
        head.headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
