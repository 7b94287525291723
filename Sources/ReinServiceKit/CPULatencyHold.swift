import Foundation
import Logging
import Synchronization

/// Holds a Linux CPU latency QoS request of 0 µs (`/dev/cpu_dma_latency`)
/// while its owner is busy, and lets it go once the owner has been idle for
/// `linger`.
///
/// Why: on virtual machines whose idle vCPUs halt (KVM's `cpuidle-haltpoll`
/// with no guest polling, as on the machine the figures come from), waking a
/// thread on an idle vCPU takes 30–50 µs, and so does delivering a disk's
/// completion to one. The audit spool hands each group of records from the
/// caller to the writer, to the syncer, to the disk and back, so those
/// wake-ups were most of a request's audit cost that was not the fsync
/// itself. While a process holds a request of 0 µs, the kernel's idle loop
/// polls instead of halting, and a wake-up costs a few µs.
///
/// Why only while busy: a polling idle vCPU is busy to its host. It burns
/// host CPU and power (and CPU credits on burstable instances) for as long
/// as the request is held, and the request is system-wide. Held only while
/// calls arrive, an idle sidecar leaves the machine's power management
/// alone. Why opt-in: it changes the whole machine's idle behaviour, and it
/// needs write access to the device (root, or the device mounted into the
/// container).
///
/// The kernel drops the request when the descriptor closes, so a crash
/// cannot leave it behind.
public final class CPULatencyHold: @unchecked Sendable {
    // Why @unchecked is safe: `descriptor`, `stopping`, `retryAfter` and
    // `warned` are read and written only while `condition` is locked;
    // `lastBusy`, `held` and `acquisitions` are atomics; the rest is immutable.

    /// The device through which a process asks for a CPU wake-up latency.
    public static let devicePath = "/dev/cpu_dma_latency"

    public let path: String
    public let linger: Duration
    private let logger: Logger
    private let condition = NSCondition()
    private var descriptor: Int32 = -1
    private var stopping = false
    /// After a failed request, no new attempt before this (uptime nanoseconds).
    private var retryAfter: UInt64 = 0
    private var warned = false
    private let lastBusy: Atomic<UInt64>
    private let held = Atomic<Bool>(false)
    private let acquisitionCount = Atomic<Int>(0)
    private let lingerNanoseconds: UInt64

    /// Makes the request at once (so that a device the process cannot write
    /// fails here, at start, with a clear error), and starts the thread that
    /// lets it go after `linger` without ``noteBusy()``.
    public init(path: String = CPULatencyHold.devicePath, linger: Duration = .seconds(1),
                logger: Logger = Logger(label: "rein.cpu-latency")) throws(CPULatencyHoldError) {
        self.path = path
        self.linger = linger
        self.logger = logger
        let parts = linger.components
        lingerNanoseconds = UInt64(max(0, parts.seconds)) * 1_000_000_000 + UInt64(max(0, parts.attoseconds) / 1_000_000_000)
        lastBusy = Atomic(Self.uptime())
        descriptor = try Self.request(path: path)
        held.store(true, ordering: .releasing)
        acquisitionCount.add(1, ordering: .relaxed)
        let thread = Thread { [self] in
            Thread.current.name = "rein-cpu-qos" // set on the thread itself: Linux applies it only there (15 bytes at most)
            self.releaseWhenIdle()
        }
        thread.start()
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// True while the request is held.
    public var isHeld: Bool { held.load(ordering: .acquiring) }

    /// How many times the request was made (the first at init), for tests and metrics.
    public var acquisitions: Int { acquisitionCount.load(ordering: .relaxed) }

    /// Says the owner has work now. Cheap when the request is held (a clock
    /// read and an atomic store): the spool calls it for every group it takes.
    public func noteBusy() {
        let now = Self.uptime()
        lastBusy.store(now, ordering: .relaxed)
        guard !held.load(ordering: .acquiring) else { return }
        condition.lock()
        defer { condition.unlock() }
        guard descriptor < 0, !stopping, now >= retryAfter else { return }
        do {
            descriptor = try Self.request(path: path)
            held.store(true, ordering: .releasing)
            acquisitionCount.add(1, ordering: .relaxed)
            condition.signal()
        } catch {
            // Not worth failing a call over: the machine is only slower.
            retryAfter = now + lingerNanoseconds
            if !warned {
                warned = true
                logger.warning("cannot hold the CPU latency request; wake-ups stay slow", metadata: ["cpu_latency.error": "\(error)"])
            }
        }
    }

    /// Lets the request go and stops the thread. Idempotent.
    public func close() {
        condition.lock()
        stopping = true
        releaseLocked()
        condition.signal()
        condition.unlock()
    }

    // MARK: - The thread

    private func releaseWhenIdle() {
        condition.lock()
        defer { condition.unlock() }
        while !stopping {
            guard descriptor >= 0 else {
                condition.wait()
                continue
            }
            let now = Self.uptime(), last = lastBusy.load(ordering: .relaxed)
            // A `noteBusy` racing this read may stamp a time after `now`.
            let idle = now > last ? now - last : 0
            if idle >= lingerNanoseconds {
                releaseLocked()
                continue
            }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(lingerNanoseconds - idle) / 1e9))
        }
    }

    private func releaseLocked() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
        held.store(false, ordering: .releasing)
    }

    /// Opens the device and writes the request: a 32-bit latency in µs.
    private static func request(path: String) throws(CPULatencyHoldError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CPULatencyHoldError(path: path, operation: .open, errno: errno) }
        var microseconds: Int32 = 0
        let written = withUnsafeBytes(of: &microseconds) { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == MemoryLayout<Int32>.size else {
            let code = written < 0 ? errno : EIO
            _ = Glibc.close(fd)
            throw CPULatencyHoldError(path: path, operation: .write, errno: code)
        }
        return fd
    }

    private static func uptime() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
