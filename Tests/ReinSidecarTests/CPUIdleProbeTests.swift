import Foundation
import Testing
@testable import ReinSidecar
import ReinServiceKit

/// When `rein sidecar check-config` suggests `cpu_latency_qos`: only where
/// idle vCPUs halt at once (haltpoll, no guest polling), read from a sysfs
/// tree laid out in a scratch directory.
struct CPUIdleProbeTests {
    final class FakeSysfs {
        let root = NSTemporaryDirectory() + "rein-sysfs-\(UUID().uuidString)"
        init(governor: String?, pollNs: String?) throws {
            if let governor { try write(governor + "\n", "/devices/system/cpu/cpuidle/current_governor") }
            if let pollNs { try write(pollNs + "\n", "/module/haltpoll/parameters/guest_halt_poll_ns") }
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
        private func write(_ text: String, _ path: String) throws {
            let url = URL(fileURLWithPath: root + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    @Test(arguments: [("haltpoll", "0", true), ("haltpoll", "200000", false), ("menu", "0", false), ("haltpoll", nil, false),
                      (nil, nil, false)] as [(String?, String?, Bool)])
    func haltingAtOnceIsTheHaltpollGovernorWithoutPolling(governor: String?, pollNs: String?, halts: Bool) throws {
        let sysfs = try FakeSysfs(governor: governor, pollNs: pollNs)
        #expect(CPUIdleProbe.haltsAtOnce(sysfsRoot: sysfs.root) == halts)
    }

    @Test func checkConfigSuggestsTheRequestOnlyWhereItPays() throws {
        let halting = try FakeSysfs(governor: "haltpoll", pollNs: "0")
        let polling = try FakeSysfs(governor: "haltpoll", pollNs: "200000")
        let policy = NSTemporaryDirectory() + "rein-probe-policy-\(UUID().uuidString).yaml"
        try Data("""
            apiVersion: rein.dev/v1alpha1
            kind: TaskPolicy
            agent: {id: agent-a, owner: team@example.com}
            task: {id: task-1, purpose: test}
            statements:
              - id: read
                effect: allow
                actions: [s3:GetObject]
                resources: ["arn:aws:s3:::reports/*"]
            """.utf8).write(to: URL(fileURLWithPath: policy))
        defer { try? FileManager.default.removeItem(atPath: policy) }
        func cpuLine(_ yaml: String, _ root: String) throws -> String? {
            let c = try SidecarConfigurationLoader.load(yaml: "policy_file: \(policy)\n" + yaml, environment: [:], overrides: [:])
            return try SidecarConfigCheck.run(c, sysfsRoot: root).lines.first { $0.hasPrefix("cpu") }
        }
        #expect(try cpuLine("", halting.root)?.contains("cpu_latency_qos: true makes them poll") == true)
        #expect(try cpuLine("", polling.root) == nil)
        #expect(try cpuLine("audit:\n  fsync: false\n", halting.root) == nil)  // no durable write to wait for
        #expect(try cpuLine("cpu_latency_qos: true\n", halting.root)?.contains("idle CPUs poll while calls arrive") == true)
    }
}
