/// At most `slots` read queries (records, exports, verification, reports,
/// the fleet) run on the blocking pool at once, and one caller (a token)
/// holds at most `perHolder` of them; the rest wait their turn.
///
/// Why the cap: reads and ingest share ``CollectorServices/blockingThreads``
/// threads. Eight slow scans (a long resource prefix over a large store), or
/// hundreds of long-polls woken by every batch, took every thread, and a
/// 100-record batch then waited 21 s instead of 15 ms. With reads capped
/// below the pool's size, ingest and the other writes always find a thread.
///
/// Why the share: slots went first come, first served, so one auditor's
/// script running exports in parallel could hold every slot for minutes and
/// the fleet view, policy history and an investigator's query waited behind
/// it. A freed slot goes to the first waiter whose caller is under its
/// share. (Sidecars' policy fetches and the collector's own watches do not
/// go through this gate.)
actor ReadGate {
    /// The caller a read is counted against (its token's name), set per
    /// request by the router; reads outside a request count as `collector`.
    @TaskLocal static var holder = "collector"

    private let slots: Int
    private let perHolder: Int
    private var held: [String: Int] = [:]
    private var busy = 0
    private var waiting: [(holder: String, continuation: CheckedContinuation<Void, Never>)] = []

    /// `perHolder` defaults to half the slots (at least one).
    init(slots: Int, perHolder: Int? = nil) {
        self.slots = max(1, slots)
        self.perHolder = min(self.slots, max(1, perHolder ?? self.slots / 2))
    }

    func acquire(for holder: String = ReadGate.holder) async {
        if busy < slots, held[holder, default: 0] < perHolder {
            take(holder)
            return
        }
        await withCheckedContinuation { waiting.append((holder, $0)) }
    }

    /// Frees `holder`'s slot and hands one to the first waiter under its share.
    func release(for holder: String = ReadGate.holder) {
        busy -= 1
        held[holder, default: 1] -= 1
        if held[holder] == 0 { held[holder] = nil }
        guard let next = waiting.firstIndex(where: { held[$0.holder, default: 0] < perHolder }) else { return }
        let waiter = waiting.remove(at: next)
        take(waiter.holder)
        waiter.continuation.resume()
    }

    private func take(_ holder: String) {
        busy += 1
        held[holder, default: 0] += 1
    }
}
