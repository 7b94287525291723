import Dispatch
import Foundation
import Synchronization

/// Waits for SIGTERM or SIGINT.
///
/// Why dispatch sources: the signals are ignored for the default action and
/// delivered on a queue, so the process stops through the graceful path
/// (drain requests, commit batches) rather than dying mid-transaction.
public enum ShutdownSignal {
    public static func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = Once(continuation)
            for sig in [SIGTERM, SIGINT] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { once.fire() }
                source.resume()
                once.keep(source)
            }
        }
    }

    /// Resumes the continuation once, whichever signal comes first.
    private final class Once: Sendable {
        private let state: Mutex<(CheckedContinuation<Void, Never>?, [any DispatchSourceSignal])>

        init(_ continuation: CheckedContinuation<Void, Never>) {
            state = Mutex((continuation, []))
        }

        func keep(_ source: any DispatchSourceSignal) {
            state.withLock { $0.1.append(source) }
        }

        func fire() {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.0 = nil }
                return s.0
            }
            c?.resume()
        }
    }
}
