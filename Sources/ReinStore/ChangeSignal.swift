import Synchronization

/// Wakes long-polls when something changed (new records, a new policy version).
///
/// Why a generation counter: a waiter reads the generation, checks the
/// store, and waits only if the generation is still the one it read, so a
/// change between its check and its wait is never missed. Waiting costs no
/// thread: a suspended task and an entry in a dictionary.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var closed = false
        var nextId: UInt64 = 0
        var active: Set<UInt64> = []
        var expired: Set<UInt64> = []
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation; pass it to ``wait(since:timeout:)``.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every waiter.
    public func signal() {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.generation &+= 1
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for c in woken { c.resume() }
    }

    /// Wakes every waiter now and makes later waits return at once (shutdown).
    public func close() {
        state.withLock { $0.closed = true }
        signal()
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Returns when the generation moves past `since`, after `timeout`, or on close.
    public func wait(since generation: UInt64, timeout: Duration) async {
        guard timeout > .zero else { return }
        let id = state.withLock { s -> UInt64 in
            s.nextId &+= 1
            s.active.insert(s.nextId)
            return s.nextId
        }
        let timer = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            self?.expire(id)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.expired.remove(id) != nil || s.generation != generation || s.closed { return true }
                s.waiters[id] = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
        state.withLock { s in
            s.active.remove(id)
            s.expired.remove(id)
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let c = s.waiters.removeValue(forKey: id) { return c }
            if s.active.contains(id) { s.expired.insert(id) }
            return nil
        }
        waiter?.resume()
    }
}
