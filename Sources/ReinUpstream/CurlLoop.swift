import CReinCurl
import Logging

/// The curl thread's side of ``UpstreamEngine``: owns the multi handle and every easy
/// handle, runs the commands other threads queue, and turns libcurl's completion
/// messages into `didFinish`. Used only on that thread, so it needs no locks.
final class CurlLoop {
    private let engine: UpstreamEngine
    private let multi: UnsafeMutableRawPointer
    private var transfers: [UInt64: UpstreamTransfer] = [:]
    private var byHandle: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]

    init(engine: UpstreamEngine, multi: UnsafeMutableRawPointer) {
        self.engine = engine
        self.multi = multi
    }

    func run() {
        while true {
            let (commands, stop) = engine.takeCommands()
            for command in commands { handle(command) }
            if stop { break }
            var running: Int32 = 0
            let performed = curl_multi_perform(multi, &running)
            if performed != CURLM_OK {
                engine.logger.error("curl_multi_perform failed", metadata: ["curl.code": "\(performed.rawValue)"])
            }
            collectCompleted()
            // Sleeps until socket activity, a libcurl timer, or curl_multi_wakeup.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        for command in engine.close() {
            if case .add(let exchange, let request, let delegate) = command {
                exchange.state.withLock { $0.completed = true }
                delegate.didFinish(exchange, result: .failure(UpstreamError(kind: .shutdown, host: request.host, message: "the upstream engine shut down")))
            }
        }
        for transfer in Array(transfers.values) {
            finish(transfer, .failure(UpstreamError(kind: .shutdown, host: transfer.host, message: "the upstream engine shut down")))
        }
        curl_multi_cleanup(multi)
    }

    private func handle(_ command: Command) {
        switch command {
        case .add(let exchange, let request, let delegate):
            add(exchange, request, delegate)
        case .resumeSend(let exchange):
            guard let transfer = transfers[exchange.id], transfer.curlSendPaused else { return }
            transfer.curlSendPaused = false
            applyPauseState(transfer)
        case .resumeResponse(let exchange):
            guard let transfer = transfers[exchange.id] else { return }
            deliverBuffered(transfer)
        case .fail(let exchange):
            guard let transfer = transfers[exchange.id] else { return }
            finish(transfer, .failure(transfer.requestedFailure() ?? UpstreamError(kind: .cancelled, host: transfer.host, message: "the exchange was cancelled")))
        }
    }

    private func add(_ exchange: UpstreamExchange, _ request: UpstreamRequest, _ delegate: any UpstreamDelegate) {
        let transfer: UpstreamTransfer
        do {
            transfer = try UpstreamTransfer(exchange: exchange, request: request, delegate: delegate, configuration: engine.configuration)
        } catch {
            exchange.state.withLock { $0.completed = true }
            delegate.didFinish(exchange, result: .failure(error))
            return
        }
        guard let handle = transfer.handle else { return }
        let added = curl_multi_add_handle(multi, handle)
        guard added == CURLM_OK else {
            transfer.releaseHandle()
            exchange.state.withLock { $0.completed = true }
            let message = String(cString: curl_multi_strerror(added))
            delegate.didFinish(exchange, result: .failure(UpstreamError(kind: .internal, host: transfer.host, message: "curl_multi_add_handle: \(message)")))
            return
        }
        transfers[exchange.id] = transfer
        byHandle[handle] = transfer
    }

    private func collectCompleted() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
                  let transfer = byHandle[handle] else { continue }
            let code = message.pointee.data.result
            if let requested = transfer.requestedFailure() {
                // A callback aborted because of cancel(); report that, not the abort.
                finish(transfer, .failure(requested))
            } else if code != CURLE_OK {
                finish(transfer, .failure(UpstreamError(curlCode: code, host: transfer.host, detail: transfer.errorDetail)))
            } else if !transfer.headDelivered {
                finish(transfer, .failure(UpstreamError(kind: .receive, host: transfer.host, message: "the response ended without a complete head")))
            } else {
                let timings = transfer.timings()
                // Return the connection to the cache now; buffered body bytes stay with the transfer.
                detach(transfer)
                transfer.pendingSuccess = timings
                deliverBuffered(transfer)
            }
        }
    }

    /// Hands buffered response bytes to the delegate until it pauses again, then either
    /// finishes (the transfer had already completed) or lets libcurl receive again.
    private func deliverBuffered(_ transfer: UpstreamTransfer) {
        while transfer.hasBufferedResponse {
            if transfer.isResponsePaused { return }
            transfer.deliverNextBufferedChunk()
        }
        if transfer.isResponsePaused { return }
        if let timings = transfer.pendingSuccess {
            finish(transfer, .success(timings))
        } else if transfer.curlRecvPaused {
            transfer.curlRecvPaused = false
            applyPauseState(transfer)
        }
    }

    /// Tells libcurl the pause bits the transfer now wants. The flags are cleared before
    /// the call because unpausing receive re-delivers held data synchronously, and the
    /// write callback may pause again while we are still inside `curl_easy_pause`.
    private func applyPauseState(_ transfer: UpstreamTransfer) {
        guard let handle = transfer.handle else { return }
        var mask: Int32 = 0
        if transfer.curlRecvPaused { mask |= CReinCurl_pause_recv_bit() }
        if transfer.curlSendPaused { mask |= CReinCurl_pause_send_bit() }
        let code = curl_easy_pause(handle, mask)
        if code != CURLE_OK, transfers[transfer.id] != nil {
            let failure = transfer.requestedFailure() ?? UpstreamError(curlCode: code, host: transfer.host, detail: transfer.errorDetail)
            finish(transfer, .failure(failure))
        }
    }

    private func detach(_ transfer: UpstreamTransfer) {
        guard let handle = transfer.handle else { return }
        curl_multi_remove_handle(multi, handle)
        byHandle[handle] = nil
        transfer.releaseHandle()
    }

    /// Ends the exchange: frees libcurl's side first, then tells the delegate, exactly once.
    private func finish(_ transfer: UpstreamTransfer, _ result: Result<UpstreamTimings, UpstreamError>) {
        guard transfers.removeValue(forKey: transfer.id) != nil else { return }
        detach(transfer)
        transfer.markCompleted()
        switch result {
        case .success(let timings):
            engine.logger.debug("upstream exchange finished", metadata: [
                "upstream.host": "\(transfer.host)", "http.status": "\(transfer.status)",
                "upstream.reused": "\(timings.reusedConnection)",
            ])
        case .failure(let error) where error.kind != .cancelled:
            engine.logger.debug("upstream exchange failed", metadata: ["upstream.host": "\(transfer.host)", "error": "\(error)"])
        case .failure:
            break
        }
        transfer.delegate.didFinish(transfer.exchange, result: result)
    }
}
