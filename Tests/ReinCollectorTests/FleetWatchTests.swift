import Foundation
import Testing
@testable import ReinCollector
import ReinStore

@Suite struct FleetWatchTests {
    static func entry(_ id: String, seenAgo seconds: Int64?, now: Int64) -> SidecarEntry {
        SidecarEntry(sidecarId: id, agentId: "agent-\(id)", taskId: "task-1", lastSeen: seconds.map { now - $0 * 1000 })
    }

    @Test func reportsOnlyChangesAndNeverTheCollectorsOwnChain() {
        let now: Int64 = 1_800_000_000_000
        let entries = [
            Self.entry("quiet", seenAgo: 300, now: now),
            Self.entry("fresh", seenAgo: 5, now: now),
            Self.entry("never", seenAgo: nil, now: now),
            Self.entry(CollectorAuditTrail.sidecarId, seenAgo: 9_999, now: now),
        ]
        let first = FleetWatch.look(entries, previouslySilent: [], now: now, silentAfter: 120)
        #expect(first.wentSilent.map(\.sidecarId) == ["quiet", "never"])
        #expect(first.reportingAgain.isEmpty)
        #expect(first.silent == ["quiet", "never"])
        // Nothing changed: nothing to tell.
        let second = FleetWatch.look(entries, previouslySilent: first.silent, now: now + 1000, silentAfter: 120)
        #expect(second.isEmpty)
        #expect(second.silent == first.silent)
        // "quiet" heartbeats, "fresh" goes quiet.
        let later = now + 200_000
        let third = FleetWatch.look([Self.entry("quiet", seenAgo: 1, now: later), Self.entry("fresh", seenAgo: 205, now: later),
                                     Self.entry("never", seenAgo: nil, now: later)],
                                    previouslySilent: second.silent, now: later, silentAfter: 120)
        #expect(third.wentSilent.map(\.sidecarId) == ["fresh"])
        #expect(third.reportingAgain.map(\.sidecarId) == ["quiet"])
        #expect(third.silent == ["fresh", "never"])
    }

    @Test func theMessageNamesEachSidecarAndLinksTheFleet() throws {
        let now: Int64 = 1_800_000_000_000
        var changes = FleetWatch.Transitions()
        changes.wentSilent = [Self.entry("sc-1", seenAgo: 300, now: now)]
        changes.reportingAgain = [Self.entry("sc-2", seenAgo: 1, now: now)]
        let bytes = FleetAlertMessage.payload(for: changes, silentAfter: 120, consoleURL: "https://rein.example.com")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let text = try #require(body["text"] as? String)
        #expect(text.contains("1 sidecar(s) went silent, no heartbeat or batch for more than 120 s: sc-1 (agent agent-sc-1, task task-1, last seen 2027-01-15T07:55:00"))
        #expect(text.contains("1 sidecar(s) reporting again: sc-2"))
        let rein = try #require(body["rein"] as? [String: Any])
        #expect(rein["alert"] as? String == "fleet")
        #expect((rein["went_silent"] as? [[String: Any]])?.first?["sidecar_id"] as? String == "sc-1")
        #expect((rein["went_silent"] as? [[String: Any]])?.first?["last_seen_ms"] as? Int == Int(now - 300_000))
        #expect((rein["reporting_again"] as? [[String: Any]])?.first?["agent_id"] as? String == "agent-sc-2")
        #expect((rein["links"] as? [String: String])?["fleet"] == "https://rein.example.com/v1/fleet")
    }
}
