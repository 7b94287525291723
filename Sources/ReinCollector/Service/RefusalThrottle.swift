import Foundation
import Synchronization

/// Decides which refused API calls become `access-denied` audit events.
///
/// Why: each event is a durable write to the collector's chain, so a client
/// hammering the API with a bad token could turn refusals into a disk-sync
/// flood. Every refusal is still logged; per (actor, route, client address)
/// at most one event is recorded each `window`, and the refusals folded in
/// meanwhile are recorded as one more event when the window ends
/// (``due(now:)``), with their count and the last one's details. No refusal
/// goes unrecorded: a burst costs two writes, not one per attempt.
public final class RefusalThrottle: Sendable {
    public enum Verdict: Equatable, Sendable {
        /// Record an event for this refusal.
        case record
        /// Folded into the event ``due(now:)`` returns when the window ends.
        case suppress
    }

    /// What a folded event says: the last refusal of the burst, and how many.
    public struct Folded: Sendable {
        public let refusal: Refusal
        public let count: Int
        /// When the window they were folded in began (the recorded event's time).
        public let since: Date
        /// The distinct agents the folded refusals named (at most
        /// ``RefusalThrottle/maxAgentsNamed``), and how many more there were.
        public let agents: [String]
        public let moreAgents: Int
    }

    /// How many distinct agent ids a folded event lists by name.
    public static let maxAgentsNamed = 20
    /// How many more distinct ones it counts (memory stays bounded under a flood of invented ids).
    public static let maxAgentsCounted = 1_000

    /// One refused call's details, as its event records them.
    public struct Refusal: Sendable {
        public var actor: String
        public var route: String
        public var status: Int
        public var reason: String
        public var agentId: String?
        public var sourceAddress: String?
        public var userAgent: String?
        public var time: Date

        public init(actor: String, route: String, status: Int, reason: String, agentId: String?, sourceAddress: String?,
                    userAgent: String?, time: Date) {
            self.actor = actor
            self.route = route
            self.status = status
            self.reason = reason
            self.agentId = agentId
            self.sourceAddress = sourceAddress
            self.userAgent = userAgent
            self.time = time
        }

        /// Per token and route, whatever the client address: more addresses
        /// must not mean more events.
        var key: String { "\(actor)|\(route)" }
    }

    private struct Entry {
        var windowStart: Date
        var suppressed: Int
        var last: Refusal?
        var agents: [String] = []
        /// Distinct agents beyond the named ones (counted up to ``RefusalThrottle/maxAgentsCounted``).
        var others: Set<String> = []

        var moreAgents: Int { others.count }

        mutating func fold(_ refusal: Refusal) {
            suppressed += 1
            last = refusal
            guard let agent = refusal.agentId, !agents.contains(agent) else { return }
            if agents.count < RefusalThrottle.maxAgentsNamed {
                agents.append(agent)
            } else if others.count < RefusalThrottle.maxAgentsCounted {
                others.insert(agent)
            }
        }

        var folded: Folded? {
            guard suppressed > 0, let last else { return nil }
            return Folded(refusal: last, count: suppressed, since: windowStart, agents: agents, moreAgents: moreAgents)
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Folded counts of keys pruned from `entries`, until ``due(now:)`` hands them out.
        var pruned: [Folded] = []
    }

    private let window: TimeInterval
    private let maxKeys: Int
    private let state = Mutex(State())

    public init(window: TimeInterval = 1, maxKeys: Int = 10_000) {
        self.window = window
        self.maxKeys = maxKeys
    }

    public func admit(_ refusal: Refusal) -> Verdict {
        let key = refusal.key
        let now = refusal.time
        return state.withLock { s in
            if var e = s.entries[key], now.timeIntervalSince(e.windowStart) < window {
                e.fold(refusal)
                s.entries[key] = e
                return .suppress
            }
            if let folded = s.entries[key]?.folded {
                // The previous window's folded refusals, not yet handed out: keep them.
                s.pruned.append(folded)
            }
            if s.entries[key] == nil, s.entries.count >= maxKeys { prune(&s, now: now) }
            s.entries[key] = Entry(windowStart: now, suppressed: 0, last: nil)
            return .record
        }
    }

    /// The folded refusals whose window has ended (all of them with
    /// `now: .distantFuture`, at shutdown): each becomes one event.
    public func due(now: Date) -> [Folded] {
        state.withLock { s in
            var out = s.pruned
            s.pruned = []
            for (key, e) in s.entries where now.timeIntervalSince(e.windowStart) >= window {
                if let folded = e.folded { out.append(folded) }
                s.entries[key] = nil
            }
            return out.sorted { $0.refusal.time < $1.refusal.time }
        }
    }

    /// Forgets keys whose window ended, keeping their folded counts for ``due(now:)``.
    private func prune(_ s: inout State, now: Date) {
        for (key, e) in s.entries where now.timeIntervalSince(e.windowStart) >= window {
            if let folded = e.folded { s.pruned.append(folded) }
            s.entries[key] = nil
        }
    }
}
