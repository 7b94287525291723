/// At most `slots` read queries (records, exports, verification, reports,
/// the fleet) run on the blocking pool at once; the rest wait their turn.
///
/// Why: reads and ingest share ``CollectorServices/blockingThreads``
/// threads. Eight slow scans (a long resource prefix over a large store), or
/// hundreds of long-polls woken by every batch, took every thread, and a
/// 100-record batch then waited 21 s instead of 15 ms. With reads capped
/// below the pool's size, ingest and the other writes always find a thread.
actor ReadGate {
    private let slots: Int
    private var busy = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(slots: Int) {
        self.slots = max(1, slots)
    }

    func acquire() async {
        if busy < slots {
            busy += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot to the next waiter, or frees it.
    func release() {
        if waiting.isEmpty {
            busy -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
