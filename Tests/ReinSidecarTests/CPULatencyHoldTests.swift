import Foundation
import Logging
import Testing
@testable import ReinSidecar
import ReinServiceKit

/// The CPU latency request (`cpu_latency_qos`): made at start, held while
/// the owner is busy, let go after `linger` idle, made again on the next
/// busy note, and refused at start with a clear error. A regular file
/// stands in for the device where the test needs no kernel.
struct CPULatencyHoldTests {
    static let device = CPULatencyHold.devicePath
    static var deviceWritable: Bool { access(device, W_OK) == 0 }

    final class Scratch {
        let path = NSTemporaryDirectory() + "rein-cpu-latency-\(UUID().uuidString)"
        init() { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var bytes: [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Double = 3, _ condition: () -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// The current machine-wide CPU latency limit in µs, as the device reports it.
    static func currentLimit() -> Int32? {
        let fd = open(device, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var value: Int32 = -1
        let n = withUnsafeMutableBytes(of: &value) { read(fd, $0.baseAddress, $0.count) }
        return n == 4 ? value : nil
    }

    @Test func theRequestIsAZeroWrittenAtStart() throws {
        let scratch = Scratch()
        let hold = try CPULatencyHold(path: scratch.path, linger: .seconds(60))
        defer { hold.close() }
        #expect(hold.isHeld && hold.acquisitions == 1)
        #expect(scratch.bytes == [0, 0, 0, 0], "a 32-bit latency of 0 µs, as the kernel reads it")
    }

    @Test func itIsLetGoAfterLingerIdleAndMadeAgainWhenBusy() async throws {
        let scratch = Scratch()
        let hold = try CPULatencyHold(path: scratch.path, linger: .milliseconds(50))
        defer { hold.close() }
        #expect(try await Self.eventually { !hold.isHeld }, "idle past linger: let go")
        hold.noteBusy()
        #expect(hold.isHeld && hold.acquisitions == 2)
        #expect(try await Self.eventually { !hold.isHeld })
    }

    @Test func busyNotesKeepItHeld() throws {
        let scratch = Scratch()
        let linger = 0.5
        let hold = try CPULatencyHold(path: scratch.path, linger: .milliseconds(Int(linger * 1000)))
        defer { hold.close() }
        // 1.5 s of notes 10 ms apart: three lingers' worth. Blocking sleeps:
        // the test's own thread keeps time even when the suite's other tests
        // keep the concurrency pool busy.
        var last = Date(), longestGap = 0.0
        let end = last.addingTimeInterval(3 * linger)
        while Date() < end {
            hold.noteBusy()
            let now = Date()
            longestGap = max(longestGap, now.timeIntervalSince(last))
            last = now
            usleep(10_000)
        }
        #expect(hold.isHeld)
        // Only a machine that stalled this thread for a whole linger could let it go.
        #expect(longestGap >= linger || hold.acquisitions == 1,
                "no gap, no second request (longest gap between notes \(Int(longestGap * 1000)) ms)")
    }

    @Test func closeLetsGoForGood() throws {
        let scratch = Scratch()
        let hold = try CPULatencyHold(path: scratch.path, linger: .seconds(60))
        hold.close()
        #expect(!hold.isHeld)
        hold.noteBusy()
        #expect(!hold.isHeld && hold.acquisitions == 1)
        hold.close()
    }

    @Test func aMissingDeviceFailsAtStartWithTheReason() throws {
        let path = NSTemporaryDirectory() + "rein-no-such-device-\(UUID().uuidString)"
        let error = #expect(throws: CPULatencyHoldError.self) { try CPULatencyHold(path: path) }
        #expect(error == CPULatencyHoldError(path: path, operation: .open, errno: ENOENT))
        #expect(error?.description.contains(path) == true && error?.description.contains("No such file") == true)
        #expect(error?.description.contains("mount") == true, "says how to give a container the device")
    }

    /// The real device: the machine's limit is 0 µs while held, and what it was once let go.
    @Test(.enabled(if: CPULatencyHoldTests.deviceWritable, "needs write access to /dev/cpu_dma_latency"))
    func theKernelSeesTheRequestWhileHeld() async throws {
        let before = try #require(Self.currentLimit())
        let hold = try CPULatencyHold(linger: .milliseconds(100))
        #expect(Self.currentLimit() == 0)
        #expect(try await Self.eventually { !hold.isHeld })
        if before != 0 { // another process may hold its own request
            #expect(try await Self.eventually { Self.currentLimit() == before })
        }
        hold.close()
    }

    @Test func theSettingIsReadFromTheFileAndTheEnvironment() throws {
        #expect(try !SidecarConfigurationLoader.load(yaml: nil, environment: [:], overrides: [:]).cpuLatencyQoS, "off unless asked for")
        #expect(try SidecarConfigurationLoader.load(yaml: "cpu_latency_qos: true", environment: [:], overrides: [:]).cpuLatencyQoS)
        #expect(try SidecarConfigurationLoader.load(yaml: "cpu_latency_qos: true", environment: ["REIN_CPU_LATENCY_QOS": "false"],
                                                    overrides: [:]).cpuLatencyQoS == false)
        let error = #expect(throws: ConfigurationError.self) {
            try SidecarConfigurationLoader.load(yaml: "cpu_latency_qos: sometimes", environment: [:], overrides: [:])
        }
        #expect(error?.key == "cpu_latency_qos")
    }

    /// A sidecar with `cpu_latency_qos` holds the request while it records
    /// calls, and lets it go when it shuts down.
    @Test(.enabled(if: CPULatencyHoldTests.deviceWritable, "needs write access to /dev/cpu_dma_latency"))
    func aSidecarHoldsItWhileServingAndLetsGoAtShutdown() async throws {
        let dir = NSTemporaryDirectory() + "rein-cpu-latency-sidecar-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upstream = try SilentUpstream()
        let running = try await SpoolFailClosedTests().launch(maxBytes: 1 << 20, upstreamPort: upstream.port, dir: dir, cpuLatencyQoS: true)
        let hold = try #require(running.cpuLatency)
        // Idle after start: let go once `linger` (1 s) passes.
        #expect(try await Self.eventually(5) { !hold.isHeld })
        let port = running.bound.agent.port ?? 0
        let denied = try LoopbackHTTP.exchange(port: port, SpoolFailClosedTests.getItem(table: "secrets", port: port))
        #expect(denied.status == 400 && denied.body.contains("AccessDenied"))
        #expect(hold.isHeld && hold.acquisitions == 2, "a recorded call makes the request again")
        #expect(Self.currentLimit() == 0)
        let metrics = try LoopbackHTTP.exchange(port: running.bound.admin.port ?? 0,
                                                Array("GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n".utf8))
        #expect(metrics.body.contains("rein_cpu_latency_qos_held 1"), "\(metrics.body)")
        #expect(metrics.body.contains("rein_cpu_latency_qos_requests_made 2"))
        await running.shutdown()
        #expect(!hold.isHeld)
    }
}
