import Foundation
import Synchronization

/// Decides which refused API calls become `access-denied` audit events.
///
/// Why: each event is a durable write to the collector's chain, so a client
/// hammering the API with a bad token could turn refusals into a disk-sync
/// flood. Every refusal is still logged; per (actor, route, client address)
/// at most one event is recorded each `window`, and the next one that is
/// recorded says how many similar refusals were folded into it, so the
/// trail keeps the count without one write per attempt.
public final class RefusalThrottle: Sendable {
    public enum Verdict: Equatable, Sendable {
        /// Record an event; `suppressed` similar refusals since the last one.
        case record(suppressed: Int)
        /// Fold this refusal into the next recorded event.
        case suppress
    }

    private struct Entry {
        var lastRecorded: Date
        var suppressed: Int
    }

    private let window: TimeInterval
    private let maxKeys: Int
    private let entries = Mutex<[String: Entry]>([:])

    public init(window: TimeInterval = 1, maxKeys: Int = 10_000) {
        self.window = window
        self.maxKeys = maxKeys
    }

    public func admit(key: String, now: Date) -> Verdict {
        entries.withLock { map in
            if var e = map[key] {
                if now.timeIntervalSince(e.lastRecorded) < window {
                    e.suppressed += 1
                    map[key] = e
                    return .suppress
                }
                map[key] = Entry(lastRecorded: now, suppressed: 0)
                return .record(suppressed: e.suppressed)
            }
            if map.count >= maxKeys {
                // Forget quiet keys; their suppressed counts were below one window's worth.
                map = map.filter { now.timeIntervalSince($0.value.lastRecorded) < window }
            }
            map[key] = Entry(lastRecorded: now, suppressed: 0)
            return .record(suppressed: 0)
        }
    }
}
