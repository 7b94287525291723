import Foundation
import Synchronization
import Testing
@testable import ReinStore

@Suite struct IngestParseGateTests {
    /// However many threads parse, no more than `slots` run at once, and every one runs.
    @Test(arguments: [1, 2]) func neverMoreParsesThanSlots(slots: Int) {
        let gate = IngestParseGate(slots: slots)
        let running = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<6 {
            group.enter()
            Thread.detachNewThread {
                for _ in 0..<40 {
                    gate.parsing {
                        let now = running.add(1, ordering: .relaxed).newValue
                        _ = most.max(now, ordering: .relaxed)
                        usleep(200)
                        running.subtract(1, ordering: .relaxed)
                        done.add(1, ordering: .relaxed)
                    }
                }
                group.leave()
            }
        }
        group.wait()
        #expect(done.load(ordering: .relaxed) == 240)
        #expect(most.load(ordering: .relaxed) <= slots)
        #expect(most.load(ordering: .relaxed) >= 1)
    }

    @Test func oneCoreStillParses() {
        #expect(IngestParseGate(slots: 0).slots == 1)
        #expect(IngestParseGate.shared.slots == max(1, ProcessInfo.processInfo.activeProcessorCount - 1))
    }
}
