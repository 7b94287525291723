import Dispatch
import Foundation

/// Calls a handler on every SIGHUP: the Unix convention for "read your
/// configuration again" (`kill -HUP`, `systemctl reload`).
///
/// Why a dispatch source: the signal's default action (terminate) is
/// replaced by a handler on a queue, where ordinary code may run; a signal
/// handler proper could do almost nothing safely.
public final class ReloadSignal: @unchecked Sendable {
    // @unchecked: `source` is set in init and only cancelled afterwards (DispatchSource is thread-safe).
    private let source: any DispatchSourceSignal

    public init(handler: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    /// Stops handling SIGHUP (it stays ignored: the process is stopping).
    public func cancel() {
        source.cancel()
    }
}
