import Foundation

/// Reads how this machine's idle CPUs wait, from sysfs, to tell an operator
/// when `cpu_latency_qos` would pay (``CPULatencyHold``).
///
/// Why: on KVM guests whose idle governor is `haltpoll` with
/// `guest_halt_poll_ns` 0, an idle vCPU halts at once, and every wake-up in
/// the audit spool's path (caller, writer, syncer, disk completion) costs a
/// VM exit; measured on such a machine, holding the request cut the audit
/// cost at 32 in flight by 15–20% (Benchmarks/NOTES.md). Elsewhere the
/// request changes little, and it is machine-wide, so it is only suggested
/// where this is true.
public enum CPUIdleProbe {
    /// True when idle vCPUs halt without polling first (haltpoll governor, no guest polling).
    public static func haltsAtOnce(sysfsRoot: String = "/sys") -> Bool {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: sysfsRoot + path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard read("/devices/system/cpu/cpuidle/current_governor") == "haltpoll" else { return false }
        return read("/module/haltpoll/parameters/guest_halt_poll_ns") == "0"
    }
}
