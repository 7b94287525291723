import Synchronization
import Testing
@testable import ReinCollector

/// Reads are capped below the blocking pool's size, so writes always find a thread.
@Suite struct ReadGateTests {
    @Test func readsBeyondTheSlotsWaitForARelease() async throws {
        let gate = ReadGate(slots: 2, perHolder: 2)
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

    /// One caller's parallel scans cannot hold every slot: beyond its share
    /// it waits even with slots free, others go first, and a freed slot goes
    /// to the first waiter under its share.
    @Test func oneCallerHoldsAtMostItsShare() async throws {
        let gate = ReadGate(slots: 4) // two per caller
        await gate.acquire(for: "script")
        await gate.acquire(for: "script")
        let order = Order()
        func waiter(_ holder: String) -> Task<Void, Never> {
            Task {
                await gate.acquire(for: holder)
                await order.append(holder)
            }
        }
        let third = waiter("script")
        try await Task.sleep(for: .milliseconds(100))
        #expect(await order.items.isEmpty) // two slots free, but not for it
        guard await order.items.isEmpty else { return } // (and the rest would wait for ever)
        await gate.acquire(for: "alice")
        await gate.acquire(for: "bob")
        let carol = waiter("carol")
        try await Task.sleep(for: .milliseconds(100))
        #expect(await order.items.isEmpty) // full
        // Alice's slot goes to Carol, who queued after the script's third scan.
        await gate.release(for: "alice")
        await carol.value
        #expect(await order.items == ["carol"])
        await gate.release(for: "script")
        await third.value
        #expect(await order.items == ["carol", "script"])
    }

    @Test func theRouterCountsReadsAgainstTheCallersToken() async throws {
        #expect(ReadGate.holder == "collector")
        await ReadGate.$holder.withValue("carol") { #expect(ReadGate.holder == "carol") }
    }

    @Test func readsLeaveThreadsForWrites() {
        #expect(CollectorServices.readSlots < CollectorServices.blockingThreads)
        #expect(CollectorServices.blockingThreads - CollectorServices.readSlots >= 2)
    }
}

/// Who got a slot, in order.
private actor Order {
    private(set) var items: [String] = []
    func append(_ item: String) { items.append(item) }
}
