import Foundation
import ReinAudit
import ReinStore
import ReinUpstream
import Testing
@testable import ReinCollector

/// Sidecars that are gone on purpose: a clean stop (its last heartbeat)
/// and an admin's retirement are ends, not silence.
@Suite struct CollectorSidecarEndTests {
    func beat(_ s: CollectorTestServer, _ id: String, last: Int, depth: Int, stopping: Bool? = nil) async throws -> HTTPClientResponse {
        var body: [String: Any?] = ["sidecar_id": id, "agent_id": "agent-a", "spool_depth": depth, "last_sequence": last, "ready": true]
        if let stopping { body["stopping"] = stopping }
        return try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", body)
    }

    func fleet(_ s: CollectorTestServer) async throws -> [String: [String: Any]] {
        let rows = try await s.call("GET", "/v1/fleet", as: "carol").array
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["sidecar_id"] as? String ?? "", $0) })
    }

    func silentSidecarFindings(_ s: CollectorTestServer) async throws -> [String] {
        let r = try await s.call("GET", "/v1/reports?framework=all&format=json&since=1d&agent=agent-a", as: "carol")
        #expect(r.status == 200, "\(r.bodyText.prefix(300))")
        let findings = r.object["findings"] as? [[String: Any]] ?? []
        return findings.filter { $0["kind"] as? String == "silent-sidecar" }.compactMap { $0["sidecar_id"] as? String }.sorted()
    }

    @Test func aStopWithEverythingShippedIsNotSilenceButOneWithABacklogIs() async throws {
        try await withCollector(silentAfter: 120) { s in
            var clean = try ScriptedChain(sidecarId: "sc-clean")
            var behind = try ScriptedChain(sidecarId: "sc-behind")
            for chain in [clean, behind] {
                #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration).status == 200)
            }
            #expect(try await s.ship(try clean.seal(4), sidecarId: "sc-clean").status == 200)
            #expect(try await s.ship(try behind.seal(2), sidecarId: "sc-behind").status == 200)
            // Last heartbeats: one with everything shipped, one with 3 records still on its disk.
            let stopped = try await beat(s, "sc-clean", last: 4, depth: 0, stopping: true)
            #expect(stopped.status == 200 && stopped.object["status"] as? String == "stopped")
            let backlog = try await beat(s, "sc-behind", last: 5, depth: 3, stopping: true)
            #expect(backlog.status == 200 && backlog.object["status"] as? String == "stopped-with-backlog")
            // A stop that claims an empty spool while the collector lacks records is not clean either.
            var lying = try ScriptedChain(sidecarId: "sc-gap")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", lying.registration).status == 200)
            #expect(try await s.ship(try lying.seal(1), sidecarId: "sc-gap").status == 200)
            #expect(try await beat(s, "sc-gap", last: 9, depth: 0, stopping: true).object["status"] as? String == "stopped-with-backlog")

            var entries = try await fleet(s)
            #expect(entries["sc-clean"]?["status"] as? String == "stopped")
            #expect(entries["sc-clean"]?["ended_at"] is String)
            #expect(entries["sc-behind"]?["status"] as? String == "ok")
            s.advance(seconds: 121)
            entries = try await fleet(s)
            #expect(entries["sc-clean"]?["status"] as? String == "stopped")
            #expect(entries["sc-behind"]?["status"] as? String == "silent")
            #expect(entries["sc-behind"]?["spool_depth"] as? Int == 3)
            #expect(entries["sc-gap"]?["status"] as? String == "silent")
            // Neither the fleet watch nor a report counts the clean stop as silence.
            let store = s.services.store
            let look = FleetWatch.look(try store.sidecars(), previous: .init(), now: s.services.nowMillis, silentAfter: 120, maxClockSkew: 30)
            #expect(look.wentSilent.map(\.sidecarId).sorted() == ["sc-behind", "sc-gap"])
            #expect(try await silentSidecarFindings(s) == ["sc-behind", "sc-gap"])
            let report = try await s.call("GET", "/v1/reports?framework=all&format=json&since=1d&agent=agent-a", as: "carol")
            #expect(!report.bodyText.contains("unshipped-records")) // nothing retired

            // Started again (same id, same key): serving, and its end is gone.
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", clean.registration).status == 200)
            entries = try await fleet(s)
            #expect(entries["sc-clean"]?["status"] as? String == "ok" && entries["sc-clean"]?["ended_at"] is NSNull)
            // An ordinary heartbeat clears a stop as well.
            #expect(try await beat(s, "sc-clean", last: 4, depth: 0, stopping: true).object["status"] as? String == "stopped")
            #expect(try await beat(s, "sc-clean", last: 4, depth: 0).status == 200)
            #expect(try await fleet(s)["sc-clean"]?["status"] as? String == "ok")
        }
    }

    @Test func anAdminRetiresAGoneSidecarOnTheRecord() async throws {
        try await withCollector(silentAfter: 120) { s in
            var chain = try ScriptedChain(sidecarId: "sc-gone")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration).status == 200)
            #expect(try await s.ship(try chain.seal(3), sidecarId: "sc-gone").status == 200)
            #expect(try await beat(s, "sc-gone", last: 5, depth: 2).status == 200)
            let retire = "/v1/sidecars/sc-gone/retire"
            let why: [String: Any?] = ["reason": "node lost in a zone outage, INC-1234"]

            // Still reporting: refused, and nothing recorded.
            let active = try await s.json("POST", retire, as: "alice", why)
            #expect(active.status == 409 && active.object["code"] as? String == "SidecarActive")
            #expect((active.object["message"] as? String)?.contains("within fleet.silent_after (120s)") == true)
            s.advance(seconds: 121)
            #expect(try await silentSidecarFindings(s) == ["sc-gone"])
            // Admins only; a reason is required; an unknown id is 404.
            #expect(try await s.json("POST", retire, as: "carol", why).status == 403)
            #expect(try await s.json("POST", retire, as: "sidecar-a", why).status == 403)
            let bare = try await s.json("POST", retire, as: "alice", ["reason": "  "])
            #expect(bare.status == 400 && (bare.object["message"] as? String)?.contains("reason is required") == true)
            let unknown = try await s.json("POST", "/v1/sidecars/sc-never/retire", as: "alice", why)
            #expect(unknown.status == 404 && unknown.object["code"] as? String == "NoSuchSidecar")
            #expect(try await s.json("POST", "/v1/sidecars/collector/retire", as: "alice", why).status == 400)
            #expect(try await s.records("event=sidecar-retired").isEmpty)

            let done = try await s.json("POST", retire, as: "alice", why)
            #expect(done.status == 200, "\(done.bodyText)")
            #expect(done.object["status"] as? String == "retired" && done.object["ended_by"] as? String == "alice")
            #expect(done.object["end_reason"] as? String == "node lost in a zone outage, INC-1234")
            // Once: a second retirement changes nothing and records nothing.
            #expect(try await s.json("POST", retire, as: "alice", why).status == 200)
            let events = try await s.records("event=sidecar-retired")
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event["sidecar_id"] as? String == CollectorAuditTrail.sidecarId && event["access_key_id"] as? String == "alice")
            #expect(event["agent_id"] as? String == "agent-a" && event["operation"] as? String == "RetireSidecar")
            let reason = event["reason"] as? String ?? ""
            #expect(reason.contains("alice retired sidecar sc-gone"), "\(reason)")
            #expect(reason.contains("3 records stored here, 2 records spooled at its last heartbeat"), "\(reason)")
            #expect(reason.hasSuffix(": node lost in a zone outage, INC-1234"), "\(reason)")
            #expect(try await s.call("GET", "/v1/audit/verify?sidecar=collector", as: "carol").object["ok"] as? Bool == true)

            #expect(try await fleet(s)["sc-gone"]?["status"] as? String == "retired")
            #expect(try await silentSidecarFindings(s).isEmpty)
            let report = try await s.call("GET", "/v1/reports?framework=all&format=json&since=1d&agent=agent-a", as: "carol")
            #expect(report.bodyText.contains("0 of 1 agents have a sidecar reporting; 1 whose sidecars all stopped or were retired"))
            // Retired, not silent; but the 2 records it never shipped stay a gap, with who accepted the loss and why.
            let findings = report.object["findings"] as? [[String: Any]] ?? []
            let lost = try #require(findings.first { $0["kind"] as? String == "unshipped-records" })
            #expect(lost["sidecar_id"] as? String == "sc-gone")
            let detail = lost["detail"] as? String ?? ""
            #expect(detail.contains("retired by alice") && detail.contains("with 2 audit record(s) the collector never received"), "\(detail)")
            #expect(detail.hasSuffix("Reason given: node lost in a zone outage, INC-1234"), "\(detail)")
            let frameworks = report.object["frameworks"] as? [[String: Any]] ?? []
            let maestro = try #require(frameworks.first { ($0["framework"] as? [String: Any])?["id"] as? String == "csa-maestro" })
            let layer5 = (maestro["controls"] as? [[String: Any]] ?? []).first { $0["id"] as? String == "Layer 5" }
            #expect(layer5?["status"] as? String == "gap")
            // It reports again after all: serving again, watched again.
            #expect(try await s.ship(try chain.seal(1), sidecarId: "sc-gone").status == 200)
            #expect(try await fleet(s)["sc-gone"]?["status"] as? String == "ok")
        }
    }

    /// `GET /v1/fleet?ended=false|status=…|agent=…` answers only the sidecars
    /// asked for (ended ones stay in the fleet until retention, and every
    /// rollout adds some), and `X-Rein-Fleet-Total` still counts them all.
    @Test func theFleetIsFilteredOnTheCollector() async throws {
        try await withCollector(silentAfter: 120) { s in
            let a = try ScriptedChain(sidecarId: "sc-a")
            let b = try ScriptedChain(sidecarId: "sc-b", agentId: "agent-b")
            let gone = try ScriptedChain(sidecarId: "sc-gone")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", a.registration).status == 200)
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-ab", b.registration).status == 200)
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", gone.registration).status == 200)
            #expect(try await beat(s, "sc-gone", last: 0, depth: 0, stopping: true).object["status"] as? String == "stopped")
            func ids(_ query: String) async throws -> (ids: [String], total: String?) {
                let r = try await s.call("GET", "/v1/fleet" + query, as: "carol")
                #expect(r.status == 200, "\(query): \(r.bodyText.prefix(200))")
                return (r.array.compactMap { $0["sidecar_id"] as? String }.sorted(), r.header("X-Rein-Fleet-Total"))
            }
            let all = try await ids("")
            #expect(all.ids == ["sc-a", "sc-b", "sc-gone"] && all.total == "3")
            let serving = try await ids("?ended=false")
            #expect(serving.ids == ["sc-a", "sc-b"] && serving.total == "3")
            #expect(try await ids("?ended=true").ids == ["sc-gone"])
            #expect(try await ids("?status=stopped,retired").ids == ["sc-gone"])
            #expect(try await ids("?agent=agent-b").ids == ["sc-b"])
            #expect(try await ids("?agent=agent-b&status=silent").ids == [])
            s.advance(seconds: 121)
            #expect(try await ids("?status=silent,not-ready").ids == ["sc-a", "sc-b"])
            #expect(try await ids("?status=silent&ended=false&agent=agent-a").ids == ["sc-a"])
            for bad in ["?status=dead", "?ended=maybe"] {
                let r = try await s.call("GET", "/v1/fleet" + bad, as: "carol")
                #expect(r.status == 400 && r.object["code"] as? String == "BadRequest", "\(bad): \(r.bodyText)")
            }
            #expect(try await s.call("GET", "/v1/fleet?status=dead", as: "carol").bodyText.contains("silent"))
        }
    }
}
