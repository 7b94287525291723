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
        let first = FleetWatch.look(entries, previous: .init(), now: now, silentAfter: 120, maxClockSkew: 30)
        #expect(first.wentSilent.map(\.sidecarId) == ["quiet", "never"])
        #expect(first.reportingAgain.isEmpty)
        #expect(first.silent == ["quiet", "never"])
        // Nothing changed: nothing to tell.
        let second = FleetWatch.look(entries, previous: first, now: now + 1000, silentAfter: 120, maxClockSkew: 30)
        #expect(second.isEmpty)
        #expect(second.silent == first.silent)
        // "quiet" heartbeats, "fresh" goes quiet.
        let later = now + 200_000
        let third = FleetWatch.look([Self.entry("quiet", seenAgo: 1, now: later), Self.entry("fresh", seenAgo: 205, now: later),
                                     Self.entry("never", seenAgo: nil, now: later)],
                                    previous: second, now: later, silentAfter: 120, maxClockSkew: 30)
        #expect(third.wentSilent.map(\.sidecarId) == ["fresh"])
        #expect(third.reportingAgain.map(\.sidecarId) == ["quiet"])
        #expect(third.silent == ["fresh", "never"])
    }

    /// A reporting sidecar's clock moving off the collector's by more than
    /// `fleet.max_clock_skew`, and back, is told once each way; a silent
    /// sidecar's old skew is not.
    @Test func clocksMovingOffAndBackAreToldOnce() throws {
        let now: Int64 = 1_800_000_000_000
        func entry(_ id: String, skew: Int64?, seenAgo: Int64 = 5) -> SidecarEntry {
            var e = Self.entry(id, seenAgo: seenAgo, now: now)
            e.clockSkewMs = skew
            return e
        }
        let first = FleetWatch.look([entry("ahead", skew: 95_250), entry("fine", skew: -400), entry("unknown", skew: nil),
                                     entry("quiet", skew: 300_000, seenAgo: 600)],
                                    previous: .init(), now: now, silentAfter: 120, maxClockSkew: 30)
        #expect(first.clockOff.map(\.sidecarId) == ["ahead"] && first.skewed == ["ahead"] && first.clockBack.isEmpty)
        let second = FleetWatch.look([entry("ahead", skew: 94_000), entry("fine", skew: -31_000)],
                                     previous: first, now: now, silentAfter: 120, maxClockSkew: 30)
        #expect(second.clockOff.map(\.sidecarId) == ["fine"] && second.clockBack.isEmpty)
        let third = FleetWatch.look([entry("ahead", skew: 200), entry("fine", skew: -31_000)],
                                    previous: second, now: now, silentAfter: 120, maxClockSkew: 30)
        #expect(third.clockBack.map(\.sidecarId) == ["ahead"] && third.clockOff.isEmpty && third.skewed == ["fine"])
        let bytes = FleetAlertMessage.payload(for: first, silentAfter: 120, maxClockSkew: 30, consoleURL: nil)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect((body["text"] as? String)?.contains("1 sidecar(s) with a clock off the collector's by more than 30 s (their record times are off too): ahead (agent agent-ahead, clock +95.2 s)") == true)
        let rein = try #require(body["rein"] as? [String: Any])
        #expect((rein["clock_off"] as? [[String: Any]])?.first?["clock_skew_ms"] as? Int == 95_250)
    }

    /// A sidecar that ended is never told as silent, and a silent one an
    /// admin then retired is not "reporting again"; nor is a stopped one's
    /// clock judged.
    @Test func endedSidecarsAreNeitherSilentNorReportingAgain() {
        let now: Int64 = 1_800_000_000_000
        func ended(_ id: String, _ kind: SidecarEnd.Kind, seenAgo: Int64, skew: Int64? = nil) -> SidecarEntry {
            var e = Self.entry(id, seenAgo: seenAgo, now: now)
            e.end = SidecarEnd(kind: kind, atMs: now - seenAgo * 1000)
            e.clockSkewMs = skew
            return e
        }
        let first = FleetWatch.look([Self.entry("gone", seenAgo: 300, now: now), ended("done", .stopped, seenAgo: 600, skew: 90_000)],
                                    previous: .init(), now: now, silentAfter: 120, maxClockSkew: 30)
        #expect(first.wentSilent.map(\.sidecarId) == ["gone"] && first.clockOff.isEmpty)
        let second = FleetWatch.look([ended("gone", .retired, seenAgo: 310), ended("done", .stopped, seenAgo: 610)],
                                     previous: first, now: now + 10_000, silentAfter: 120, maxClockSkew: 30)
        #expect(second.isEmpty && second.silent.isEmpty)
    }

    @Test func theMessageNamesEachSidecarAndLinksTheFleet() throws {
        let now: Int64 = 1_800_000_000_000
        var changes = FleetWatch.Transitions()
        changes.wentSilent = [Self.entry("sc-1", seenAgo: 300, now: now)]
        changes.reportingAgain = [Self.entry("sc-2", seenAgo: 1, now: now)]
        let bytes = FleetAlertMessage.payload(for: changes, silentAfter: 120, maxClockSkew: 30, consoleURL: "https://rein.example.com")
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
