import NIOCore

/// Shared between ``HeadGuardHandler`` and ``AgentHTTPHandler`` on one
/// connection (one event loop): whether a request head is awaited.
final class HeadGuardState {
    var awaitingHead = true
    var headBytes = 0
    var onHead: (() -> Void)?
    var onAwait: (() -> Void)?

    func headReceived() {
        awaitingHead = false
        headBytes = 0
        onHead?()
    }

    func awaitHead() {
        awaitingHead = true
        headBytes = 0
        onAwait?()
    }
}

/// Guards the raw bytes before the HTTP parser: a request head must fit in
/// `maxHeaderBytes` and arrive within `headerTimeout` of its first byte,
/// and an idle keep-alive connection is closed after `idleTimeout`.
///
/// Why here: the parser has no limit on head size and no notion of time,
/// so a slow or endless head (slowloris) would hold a connection forever.
final class HeadGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let state: HeadGuardState
    let maxHeaderBytes: Int
    let headerTimeout: TimeAmount
    let idleTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// After a 431, input is drained (not parsed) until the lingering close ends.
    private var draining = false
    private var headStartedAt: NIODeadline?

    init(state: HeadGuardState, maxHeaderBytes: Int, headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.state = state
        self.maxHeaderBytes = maxHeaderBytes
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        state.onHead = { bound.value.0.cancelTimer() }
        state.onAwait = { let (h, c) = bound.value; h.arm(context: c, after: h.idleTimeout, reason: "idle") }
        arm(context: context, after: idleTimeout, reason: "idle")
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        state.onHead = nil
        state.onAwait = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if draining { return }
        let buffer = unwrapInboundIn(data)
        let wasAwaiting = state.awaitingHead
        if wasAwaiting {
            if state.headBytes == 0 { arm(context: context, after: headerTimeout, reason: "slow request head") }
            state.headBytes += buffer.readableBytes
        }
        // The parser runs synchronously here: if these bytes completed the head, the flag is now clear.
        context.fireChannelRead(data)
        if wasAwaiting, state.awaitingHead, state.headBytes > maxHeaderBytes {
            let text = "request head larger than limits.max_header_bytes (\(maxHeaderBytes) bytes)\n"
            var reply = context.channel.allocator.buffer(capacity: 200)
            reply.writeString("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n\(text)")
            state.awaitingHead = false
            draining = true
            cancelTimer()
            context.writeAndFlush(NIOAny(reply)).whenComplete { [channel = context.channel] _ in Self.lingeringClose(channel) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    /// Closes our side first and the socket a little later, reading (and
    /// dropping) what the client still sends meanwhile: closing with unread
    /// input would reset the connection and destroy the answer just sent.
    static func lingeringClose(_ channel: any Channel, after delay: TimeAmount = .seconds(2)) {
        channel.close(mode: .output).whenComplete { _ in
            channel.eventLoop.scheduleTask(in: delay) { channel.close(promise: nil) }
        }
    }

    private func arm(context: ChannelHandlerContext, after delay: TimeAmount, reason: String) {
        cancelTimer()
        let state = NIOLoopBound(self.state, eventLoop: context.eventLoop)
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: delay) {
            guard state.value.awaitingHead else { return }
            channel.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}
