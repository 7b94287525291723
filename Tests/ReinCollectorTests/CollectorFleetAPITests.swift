import Foundation
import ReinAudit
import Testing
@testable import ReinCollector

/// Registration, heartbeats and the fleet view.
@Suite struct CollectorFleetAPITests {
    @Test func fleetShowsHeartbeatFactsAndFlagsSilentSidecars() async throws {
        try await withCollector(silentAfter: 120) { s in
            var chain = try ScriptedChain(sidecarId: "sc-1")
            let registered = try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration)
            #expect(registered.object["key_status"] as? String == "registered")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration).object["key_status"] as? String == "matches")
            let beat = try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", [
                "sidecar_id": "sc-1", "agent_id": "agent-a", "task_id": "task-1", "policy_version": "3", "spool_depth": 12,
                "spool_bytes": 40960, "last_sequence": 1041, "ready": true,
            ])
            #expect(beat.status == 200)
            _ = try await s.ship(try chain.seal(4), sidecarId: "sc-1")
            var fleet = try await s.call("GET", "/v1/fleet", as: "alice").array
            #expect(fleet.count == 1) // the collector's own chain is not a sidecar
            let entry = try #require(fleet.first)
            #expect(entry["sidecar_id"] as? String == "sc-1")
            #expect(entry["agent_id"] as? String == "agent-a")
            #expect(entry["policy_version"] as? String == "3")
            #expect(entry["spool_depth"] as? Int == 12)
            #expect(entry["spool_bytes"] as? Int == 40960)
            #expect(entry["last_sequence"] as? Int == 1041)
            #expect(entry["stored_sequence"] as? Int == 4)
            #expect(entry["status"] as? String == "ok")
            #expect(entry["findings"] as? Int == 0)
            #expect(entry["last_seen"] is String)

            s.advance(seconds: 121)
            fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(fleet.first?["status"] as? String == "silent")
            // A heartbeat brings it back.
            _ = try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", ["sidecar_id": "sc-1", "agent_id": "agent-a"])
            fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(fleet.first?["status"] as? String == "ok")
            // A sidecar that says it refuses calls (a full spool) is not "ok".
            _ = try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", ["sidecar_id": "sc-1", "agent_id": "agent-a", "ready": false])
            fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(fleet.first?["status"] as? String == "not-ready" && fleet.first?["ready"] as? Bool == false)
            // Ready again, but its chain has a gap: "findings".
            _ = try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", ["sidecar_id": "sc-1", "agent_id": "agent-a", "ready": true])
            _ = try chain.seal(1)
            _ = try await s.ship(try chain.seal(1), sidecarId: "sc-1")
            fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(fleet.first?["status"] as? String == "findings" && fleet.first?["findings"] as? Int == 1)
            // A heartbeat never binds an id: an unregistered one is told to register.
            let stray = try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", ["sidecar_id": "host-7", "agent_id": "agent-a"])
            #expect(stray.status == 409 && stray.object["code"] as? String == "NotRegistered")
            // What the fleet view only shows is kept short, never refused.
            let long = String(repeating: "t", count: 300)
            #expect(try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a",
                                     ["sidecar_id": "sc-1", "agent_id": "agent-a", "task_id": long]).status == 200)
            fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect((fleet.first?["task_id"] as? String)?.count == 128)
        }
    }

    /// Record times come from the sidecar's clock: one off the collector's
    /// by more than `fleet.max_clock_skew` (30 s) is flagged, either way.
    @Test func aSidecarClockOffTheCollectorsIsFlagged() async throws {
        try await withCollector { s in
            let chain = try ScriptedChain(sidecarId: "sc-c")
            s.clock.clock.withLock { $0 = Date(timeIntervalSince1970: $0.timeIntervalSince1970.rounded(.down)) } // whole seconds
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration).status == 200)
            func beat(offset: Double?, time: String? = nil) async throws -> [String: Any]? {
                var body: [String: Any?] = ["sidecar_id": "sc-c", "agent_id": "agent-a", "ready": true]
                if let offset { body["time"] = AuditRecord.timestamp(s.clock.clock.withLock { $0 }.addingTimeInterval(offset)) }
                if let time { body["time"] = time }
                #expect(try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", body).status == 200)
                return try await s.call("GET", "/v1/fleet", as: "carol").array.first
            }
            // Before any heartbeat says its time: unknown, not flagged.
            var entry = try await beat(offset: nil)
            #expect(entry?["clock_skew_s"] is NSNull && entry?["status"] as? String == "ok")
            entry = try await beat(offset: 2.5)
            #expect(entry?["clock_skew_s"] as? Double == 2.5 && entry?["status"] as? String == "ok")
            entry = try await beat(offset: 31)
            #expect(entry?["clock_skew_s"] as? Double == 31 && entry?["status"] as? String == "clock-skew")
            entry = try await beat(offset: -95.25)
            #expect(entry?["clock_skew_s"] as? Double == -95.25 && entry?["status"] as? String == "clock-skew")
            // An unreadable time is not refused (the heartbeat still counts): unknown again.
            entry = try await beat(offset: nil, time: "yesterday")
            #expect(entry?["clock_skew_s"] is NSNull && entry?["status"] as? String == "ok")
            entry = try await beat(offset: -30)
            #expect(entry?["status"] as? String == "ok") // 30 s exactly is within
        }
    }

    @Test func aDifferentKeyIsAConflictAndAFinding() async throws {
        try await withCollector { s in
            let chain = try ScriptedChain(sidecarId: "sc-k")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration).status == 200)
            let impostor = try ScriptedChain(sidecarId: "sc-k")
            let answer = try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", impostor.registration)
            #expect(answer.status == 409)
            #expect(answer.object["key_status"] as? String == "mismatch")
            #expect((answer.object["message"] as? String)?.contains("two pods with one host name") == true)
            // Its retries (a second sidecar given the same id) add no finding
            // per attempt, and never count as the registered sidecar being seen.
            s.advance(seconds: 121)
            for _ in 0..<3 { #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", impostor.registration).status == 409) }
            let findings = try await s.call("GET", "/v1/audit/findings?sidecar=sc-k", as: "carol").array
            #expect(findings.map { $0["kind"] as? String } == ["unknown-key"])
            let entry = try await s.call("GET", "/v1/fleet", as: "carol").array.first
            #expect(entry?["findings"] as? Int == 1)
            #expect(entry?["status"] as? String == "silent")
            var bad = chain.registration
            bad["public_key"] = "not-hex"
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", bad).status == 400)
            // Ids that would pass for another in the fleet view: refused, as is the collector's own, in any case.
            for lookalike in ["sc-k\u{200B}", "\u{0441}c-k", "Collector"] {
                var r = try ScriptedChain(sidecarId: "x").registration
                r["sidecar_id"] = lookalike
                #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", r).status == 400, "\(lookalike)")
            }
        }
    }
}
