import Synchronization
import Testing
@testable import ReinCollector

/// Reads are capped below the blocking pool's size, so writes always find a thread.
@Suite struct ReadGateTests {
    @Test func readsBeyondTheSlotsWaitForARelease() async throws {
        let gate = ReadGate(slots: 2)
        await gate.acquire()
        await gate.acquire()
        let third = Atomic<Bool>(false)
        let waiter = Task {
            await gate.acquire()
            third.store(true, ordering: .relaxed)
        }
        try await Task.sleep(for: .milliseconds(100))
        let early = third.load(ordering: .relaxed)
        #expect(!early)
        await gate.release()
        await waiter.value
        let late = third.load(ordering: .relaxed)
        #expect(late)
    }

    @Test func readsLeaveThreadsForWrites() {
        #expect(CollectorServices.readSlots < CollectorServices.blockingThreads)
        #expect(CollectorServices.blockingThreads - CollectorServices.readSlots >= 2)
    }
}
