import Foundation
import Synchronization

/// Which thread is the spool writer's (or syncer's), once it runs.
///
/// Why: `close` and `stop` must not wait for their own thread when a
/// completion calls them from it, and benchmarks read each thread's CPU
/// time to say where a request's cost goes.
final class SpoolThread: Sendable {
    private let handle = Mutex<pthread_t?>(nil)

    /// Called first thing on the thread itself.
    func enter() { handle.withLock { $0 = pthread_self() } }

    /// True when called on that thread.
    var isCurrent: Bool { handle.withLock { t in t.map { pthread_equal($0, pthread_self()) != 0 } ?? false } }

    /// CPU time the thread has used, through its POSIX CPU-time clock (nil
    /// before it starts, or when the clock cannot be read).
    var cpuSeconds: Double? {
        handle.withLock { t -> Double? in
            guard let t else { return nil }
            var clock = clockid_t()
            guard pthread_getcpuclockid(t, &clock) == 0 else { return nil }
            var time = timespec()
            guard clock_gettime(clock, &time) == 0 else { return nil }
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
    }
}
