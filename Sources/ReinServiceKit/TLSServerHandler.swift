import Logging
import NIOCore
import ReinTLS

/// Terminates the agent's TLS inside the forward proxy, after `CONNECT`.
///
/// Glue between a channel and a `TLSServerConnection` engine, which holds
/// all the protocol logic (handshake, SNI decision, records, alerts): this
/// handler feeds it ciphertext, forwards the plaintext it yields, encrypts
/// outbound writes and sends the ciphertext it produces.
///
/// Events:
/// - once, when the handshake completes, the user inbound event
///   `HandshakeCompleted` (the SNI name the leaf was minted for, and the
///   protocol version), before any plaintext is read;
/// - a handshake or protocol failure is logged, sent on as `errorCaught`
///   (a `TLSError`, so that the caller can audit a refused name), and the
///   channel is closed after the alert is sent;
/// - the peer's close_notify becomes `ChannelEvent.inputClosed` when the
///   channel allows remote half-closure, and otherwise closes the channel
///   (after answering with close_notify).
///
/// A `close` from the pipeline sends close_notify first. Writes issued
/// before the handshake completes are held and encrypted once it does.
/// Renegotiation is refused by the context (`TLSServerContext`), and the
/// engine is used only on this channel's event loop.
///
/// Logs carry `tls.peer`, `tls.sni` (the requested name, escaped),
/// `tls.version`, `tls.error` and `tls.error.code`.
public final class TLSServerHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Fired once through `userInboundEventTriggered` when the handshake completes.
    public struct HandshakeCompleted: Hashable, Sendable {
        /// The client's SNI name (lowercase) that the certificate was minted for.
        public let serverName: String
        /// "TLSv1.2" or "TLSv1.3".
        public let protocolVersion: String

        public init(serverName: String, protocolVersion: String) {
            self.serverName = serverName
            self.protocolVersion = protocolVersion
        }
    }

    /// How long a close waits for close_notify to be written before closing anyway.
    public static let closeNotifyTimeout = TimeAmount.seconds(5)

    private enum State {
        case handshaking
        case active
        /// The peer sent close_notify; we may still write (half-closure).
        case inputClosed
        /// We sent close_notify on `close(mode: .output)`; we may still read.
        case outputClosed
        /// We sent close_notify and are waiting for it to be written.
        case closing
        case closed
    }

    private let tlsContext: TLSServerContext
    private var logger: Logger
    private var engine: TLSServerConnection?
    private var state = State.handshaking
    /// Writes issued before the handshake completed.
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushHeld = false
    /// Promises of writes encrypted but not yet flushed.
    private var unflushedPromises: [EventLoopPromise<Void>] = []
    private var producedPlaintext = false
    private var readPending = false

    public init(context: TLSServerContext, logger: Logger) {
        self.tlsContext = context
        self.logger = logger
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        do {
            engine = try tlsContext.makeConnection()
        } catch {
            logger.error("could not start TLS", metadata: ["tls.error": "\(error)"])
            state = .closed
            context.close(promise: nil)
            return
        }
        if let peer = context.remoteAddress { logger[metadataKey: "tls.peer"] = "\(peer)" }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        failHeldWrites(ChannelError.ioOnClosedChannel)
        engine = nil
    }

    // MARK: inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let engine, state == .handshaking || state == .active || state == .outputClosed else { return }
        let ciphertext = unwrapInboundIn(data)
        ciphertext.withUnsafeReadableBytes { engine.feed(ciphertext: $0) }
        decrypt(context: context, engine: engine)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if producedPlaintext {
            producedPlaintext = false
            readPending = false
            context.fireChannelReadComplete()
        } else if readPending, state == .handshaking || state == .active || state == .outputClosed {
            // The bytes were all handshake or protocol records: ask again on
            // the reader's behalf, or a channel without autoRead stalls.
            context.read()
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if state == .handshaking {
            logger.debug("TLS connection closed before the handshake completed",
                         metadata: engine?.requestedServerName.map { ["tls.sni": "\($0)"] } ?? [:])
        }
        state = .closed
        failHeldWrites(ChannelError.ioOnClosedChannel)
        failUnflushed(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    private func decrypt(context: ChannelHandlerContext, engine: TLSServerConnection) {
        var wasComplete = engine.isHandshakeComplete
        while true {
            let result: TLSServerConnection.ReadResult
            do {
                result = try engine.readPlaintext()
            } catch {
                fail(context: context, engine: engine, error: error)
                return
            }
            if !wasComplete && engine.isHandshakeComplete {
                wasComplete = true
                handshakeCompleted(context: context, engine: engine)
            }
            switch result {
            case .data(let bytes):
                producedPlaintext = true
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: bytes)))
            case .wantMoreInput:
                flushCiphertext(context: context, engine: engine)
                return
            case .closed:
                peerSentCloseNotify(context: context, engine: engine)
                return
            }
        }
    }

    private func handshakeCompleted(context: ChannelHandlerContext, engine: TLSServerConnection) {
        state = .active
        let event = HandshakeCompleted(serverName: engine.negotiatedServerName ?? "",
                                       protocolVersion: engine.negotiatedProtocolVersion ?? "")
        logger[metadataKey: "tls.sni"] = "\(event.serverName)"
        logger.debug("TLS handshake completed", metadata: ["tls.version": "\(event.protocolVersion)"])
        // Held writes first: they were issued before anything the event may prompt.
        let held = heldWrites
        heldWrites = []
        for (buffer, promise) in held { encrypt(context: context, engine: engine, buffer, promise: promise) }
        context.fireUserInboundEventTriggered(event)
        if flushHeld {
            flushHeld = false
            flushCiphertext(context: context, engine: engine)
        }
    }

    private func peerSentCloseNotify(context: ChannelHandlerContext, engine: TLSServerConnection) {
        let halfClosure = (try? context.channel.syncOptions?.getOption(ChannelOptions.allowRemoteHalfClosure)) ?? false
        if halfClosure {
            state = .inputClosed
            flushCiphertext(context: context, engine: engine)
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        } else {
            sendCloseNotifyThenClose(context: context, engine: engine, mode: .all, promise: nil)
        }
    }

    private func fail(context: ChannelHandlerContext, engine: TLSServerConnection, error: TLSError) {
        var metadata: Logger.Metadata = ["tls.error": "\(error)", "tls.error.code": "\(error.code)"]
        if !engine.isHandshakeComplete, let name = engine.requestedServerName { metadata["tls.sni"] = "\(name)" }
        logger.info(engine.isHandshakeComplete ? "TLS connection failed" : "TLS handshake failed", metadata: metadata)
        // Send the alert OpenSSL queued, then close.
        flushCiphertext(context: context, engine: engine)
        state = .closed
        failHeldWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    // MARK: outbound

    public func read(context: ChannelHandlerContext) {
        readPending = true
        context.read()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .handshaking:
            heldWrites.append((buffer, promise))
        case .active, .inputClosed:
            guard let engine else { promise?.fail(ChannelError.ioOnClosedChannel); return }
            encrypt(context: context, engine: engine, buffer, promise: promise)
        case .outputClosed, .closing, .closed:
            promise?.fail(ChannelError.outputClosed)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch state {
        case .handshaking:
            flushHeld = true
        case .active, .inputClosed:
            if let engine { flushCiphertext(context: context, engine: engine) }
        case .outputClosed, .closing, .closed:
            break
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch (mode, state) {
        case (.input, _):
            context.close(mode: .input, promise: promise)
        case (_, .active), (_, .inputClosed):
            guard let engine else { context.close(mode: mode, promise: promise); return }
            sendCloseNotifyThenClose(context: context, engine: engine, mode: mode, promise: promise)
        case (_, .closing), (_, .outputClosed):
            // close_notify is already sent or on its way.
            if mode == .all { state = .closing }
            context.close(mode: mode, promise: promise)
        case (_, .handshaking), (_, .closed):
            state = .closed
            failHeldWrites(ChannelError.ioOnClosedChannel)
            context.close(mode: mode, promise: promise)
        }
    }

    private func encrypt(context: ChannelHandlerContext, engine: TLSServerConnection,
                         _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        do {
            try buffer.withUnsafeReadableBytes { bytes in
                try Result { () throws(TLSError) in try engine.write(plaintext: bytes) }.get()
            }
            if let promise { unflushedPromises.append(promise) }
        } catch {
            promise?.fail(error)
        }
    }

    /// Writes and flushes whatever ciphertext the engine has, completing the
    /// promises of the plaintext it carries.
    private func flushCiphertext(context: ChannelHandlerContext, engine: TLSServerConnection,
                                 promise extra: EventLoopPromise<Void>? = nil) {
        let promises = unflushedPromises + (extra.map { [$0] } ?? [])
        unflushedPromises = []
        let count = engine.pendingCiphertextCount
        guard count > 0 else {
            promises.forEach { $0.succeed() }
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { engine.drainCiphertext(into: $0) }
        var combined: EventLoopPromise<Void>?
        if let first = promises.first {
            combined = first
            for other in promises.dropFirst() { first.futureResult.cascade(to: other) }
        }
        context.write(wrapOutboundOut(buffer), promise: combined)
        context.flush()
    }

    private func sendCloseNotifyThenClose(context: ChannelHandlerContext, engine: TLSServerConnection,
                                          mode: CloseMode, promise: EventLoopPromise<Void>?) {
        state = mode == .all ? .closing : .outputClosed
        engine.shutdown()
        let written = context.eventLoop.makePromise(of: Void.self)
        flushCiphertext(context: context, engine: engine, promise: written)
        var done = false
        let finish = {
            guard !done else { return }
            done = true
            if mode == .all { self.state = .closed }
            context.close(mode: mode, promise: promise)
        }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeNotifyTimeout) { finish() }
        written.futureResult.assumeIsolated().whenComplete { _ in
            timeout.cancel()
            finish()
        }
    }

    private func failHeldWrites(_ error: any Error) {
        let held = heldWrites
        heldWrites = []
        for (_, promise) in held { promise?.fail(error) }
    }

    private func failUnflushed(_ error: any Error) {
        let promises = unflushedPromises
        unflushedPromises = []
        for promise in promises { promise.fail(error) }
    }
}
