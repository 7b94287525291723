import Foundation
import Testing
@testable import ReinCollector

@Suite struct RefusalThrottleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func refusal(_ actor: String, at offset: TimeInterval, address: String = "127.0.0.1") -> RefusalThrottle.Refusal {
        .init(actor: actor, route: "GET /v1/fleet", status: 401, reason: "no token", agentId: nil, sourceAddress: address,
              userAgent: nil, time: start.addingTimeInterval(offset))
    }

    /// A burst costs two events: the first refusal, and one for the rest when
    /// the window ends, with their count. None is lost.
    @Test func aBurstIsRecordedAsItsFirstRefusalAndOneFoldedEvent() throws {
        let t = RefusalThrottle(window: 1)
        #expect(t.admit(refusal("a", at: 0)) == .record)
        for i in 1...50 { #expect(t.admit(refusal("a", at: Double(i) / 100)) == .suppress) }
        // Another actor (or route, or address) is its own key.
        #expect(t.admit(refusal("b", at: 0.5)) == .record)
        #expect(t.due(now: start.addingTimeInterval(0.9)).isEmpty)
        let due = t.due(now: start.addingTimeInterval(1.1))
        #expect(due.count == 1)
        let folded = try #require(due.first)
        #expect(folded.count == 50 && folded.refusal.actor == "a" && folded.since == start)
        #expect(folded.refusal.time == start.addingTimeInterval(0.5))
        // Handed out once; the next refusal opens a new window.
        #expect(t.due(now: start.addingTimeInterval(5)).isEmpty)
        #expect(t.admit(refusal("a", at: 2.5)) == .record)
    }

    /// A refusal after the window, before the flush ran, keeps the folded count.
    @Test func aNewWindowDoesNotDropTheLastOnesCount() {
        let t = RefusalThrottle(window: 1)
        #expect(t.admit(refusal("a", at: 0)) == .record)
        #expect(t.admit(refusal("a", at: 0.2)) == .suppress)
        #expect(t.admit(refusal("a", at: 0.3)) == .suppress)
        #expect(t.admit(refusal("a", at: 1.5)) == .record)
        #expect(t.due(now: start.addingTimeInterval(1.6)).map(\.count) == [2])
    }

    /// A token probing many agents in one burst: the folded event names them.
    @Test func aFoldedEventNamesTheAgentsItStandsFor() throws {
        let t = RefusalThrottle(window: 1)
        func probe(_ agent: String, at offset: TimeInterval) -> RefusalThrottle.Refusal {
            .init(actor: "sc", route: "GET /v1/policies/{agent}", status: 403, reason: "no", agentId: agent, sourceAddress: "10.0.0.1",
                  userAgent: nil, time: start.addingTimeInterval(offset))
        }
        #expect(t.admit(probe("agent-0", at: 0)) == .record)
        for i in 1...30 { #expect(t.admit(probe("agent-\(i)", at: Double(i) / 100)) == .suppress) }
        #expect(t.admit(probe("agent-1", at: 0.5)) == .suppress)
        let folded = try #require(t.due(now: start.addingTimeInterval(2)).first)
        #expect(folded.count == 31)
        #expect(folded.agents.count == RefusalThrottle.maxAgentsNamed && folded.agents.first == "agent-1")
        #expect(folded.moreAgents == 10)
    }

    /// The table stays bounded, and pruning it keeps every folded count.
    @Test func theKeyTableStaysBoundedWithoutLosingCounts() {
        let t = RefusalThrottle(window: 1, maxKeys: 100)
        var folded = 0
        for i in 0..<1000 {
            #expect(t.admit(refusal("a", at: Double(i) * 2, address: "10.0.\(i / 256).\(i % 256)")) == .record)
            #expect(t.admit(refusal("a", at: Double(i) * 2 + 0.1, address: "10.0.\(i / 256).\(i % 256)")) == .suppress)
        }
        folded = t.due(now: .distantFuture).reduce(0) { $0 + $1.count }
        #expect(folded == 1000)
    }
}
