import Foundation
import Testing
@testable import ReinCollectorClient

/// A hung collector shows as a failure within the small-call timeout, not
/// the client's 30 s default (the shipper's failure count goes up sooner).
@Suite struct CollectorClientTimeoutTests {
    @Test func batchTimeoutsGrowWithTheBatch() throws {
        #expect(try CollectorClient(baseURL: "http://127.0.0.1:1", token: "tok-0123456789abcdef").smallCallTimeout == 10)
        #expect(CollectorClient.shipTimeout(bytes: 200 << 10) < 16)
        #expect(CollectorClient.shipTimeout(bytes: 64 << 20) > 140)
    }

    @Test func aHeartbeatToASilentCollectorFailsWithinItsTimeout() async throws {
        // A listener that never accepts or answers: the kernel completes the handshake, nothing more.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0 && listen(fd, 4) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        let client = try CollectorClient(baseURL: "http://127.0.0.1:\(port)", token: "tok-0123456789abcdef")
        // Ten seconds of waiting, off the cooperative pool the other suites' collectors answer
        // on, and timed there (not including the wait to resume this test on a loaded machine).
        let (failed, took) = try await offPool { () -> (Bool, Double) in
            let started = Date()
            do {
                try client.heartbeat(CollectorMessages.Heartbeat(sidecarId: "sc-1", agentId: "agent-a", taskId: nil, policyVersion: nil,
                                                                 spoolDepth: 0, spoolBytes: 0, lastSequence: 0, ready: true))
                return (false, Date().timeIntervalSince(started))
            } catch { return (true, Date().timeIntervalSince(started)) }
        }
        #expect(failed)
        #expect(took >= 9 && took < 20, "took \(took) s")
    }
}
