import Foundation
import Testing
@testable import ReinCollector

@Suite struct RefusalThrottleTests {
    @Test func oneEventPerWindowWithTheSuppressedCountCarriedForward() {
        let t = RefusalThrottle(window: 1)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(t.admit(key: "a", now: start) == .record(suppressed: 0))
        for i in 1...50 { #expect(t.admit(key: "a", now: start.addingTimeInterval(Double(i) / 100)) == .suppress) }
        // Another actor or route is its own key.
        #expect(t.admit(key: "b", now: start.addingTimeInterval(0.5)) == .record(suppressed: 0))
        #expect(t.admit(key: "a", now: start.addingTimeInterval(1.2)) == .record(suppressed: 50))
        #expect(t.admit(key: "a", now: start.addingTimeInterval(2.5)) == .record(suppressed: 0))
    }

    @Test func theKeyTableStaysBounded() {
        let t = RefusalThrottle(window: 1, maxKeys: 100)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 0..<1000 {
            #expect(t.admit(key: "k\(i)", now: start.addingTimeInterval(Double(i) * 2)) == .record(suppressed: 0))
        }
    }
}
