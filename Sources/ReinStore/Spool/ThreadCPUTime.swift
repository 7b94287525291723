import Foundation

/// CPU time `thread` has used, through its POSIX CPU-time clock; nil when
/// the clock cannot be read (the thread has exited).
func threadCPUSeconds(_ thread: pthread_t) -> Double? {
    var clock = clockid_t()
    guard pthread_getcpuclockid(thread, &clock) == 0 else { return nil }
    var t = timespec()
    guard clock_gettime(clock, &t) == 0 else { return nil }
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
