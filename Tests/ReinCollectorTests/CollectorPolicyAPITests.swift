import Foundation
import ReinAudit
import Testing
@testable import ReinCollector
@testable import ReinStore

/// Central policies over HTTP: push, read, ETag and 304, long-poll, history, rollback, lint gate.
@Suite struct CollectorPolicyAPITests {
    func push(_ s: CollectorTestServer, _ document: String, message: String = "m", force: String? = nil,
              agent: String = "agent-a") async throws -> (Int, [String: Any]) {
        let r = try await s.json("POST", "/v1/policies/\(agent)", as: "alice",
                                 ["document": document, "message": message, "force_reason": force])
        return (r.status, r.object)
    }

    @Test func pushReadHistoryAndRollback() async throws {
        try await withCollector { s in
            let (status, created) = try await push(s, testPolicy(bucket: "reports"), message: "first")
            #expect(status == 201)
            #expect(created["version"] as? Int == 1)
            #expect(created["etag"] as? String == "\"1\"")
            #expect(created["agent_id"] as? String == "agent-a")
            #expect(try await push(s, testPolicy(bucket: "reports-2027"), message: "second").0 == 201)

            let current = try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-a")
            #expect(current.status == 200)
            #expect(current.bodyText == testPolicy(bucket: "reports-2027"))
            #expect(current.header("ETag") == "\"2\"")
            #expect(current.header("X-Rein-Policy-Version") == "2")
            #expect(current.header("Content-Type") == "application/yaml")

            let v1 = try await s.call("GET", "/v1/policies/agent-a/versions/1", as: "carol")
            #expect(v1.bodyText == testPolicy(bucket: "reports"))
            #expect(try await s.call("GET", "/v1/policies/agent-a/versions/7", as: "carol").status == 404)

            let rolled = try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice", ["version": 1, "message": "bucket not ready"])
            #expect(rolled.status == 201)
            #expect(rolled.object["version"] as? Int == 3)
            #expect(try await s.call("GET", "/v1/policies/agent-a", as: "carol").bodyText == testPolicy(bucket: "reports"))

            let history = try await s.call("GET", "/v1/policies/agent-a/history", as: "carol").array
            #expect(history.map { $0["version"] as? Int } == [3, 2, 1])
            #expect(history.first?["message"] as? String == "bucket not ready")
            #expect(history.first?["author"] as? String == "alice")
            #expect(history.first.map { $0["force_reason"] is NSNull } == true)
            #expect((history.first?["sha256"] as? String) == (history.last?["sha256"] as? String))

            let list = try await s.call("GET", "/v1/policies", as: "alice").array
            #expect(list.count == 1)
            #expect(list.first?["version"] as? Int == 3)
            #expect(try await s.call("GET", "/v1/policies/nobody", as: "carol").status == 404)
            #expect(try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice", ["version": 9]).status == 404)

            // Every push and rollback is a policy-change event by its author.
            let changes = try await s.records("event=policy-change")
            #expect(changes.count == 3)
            #expect(changes.allSatisfy { $0["access_key_id"] as? String == "alice" && $0["sidecar_id"] as? String == "collector" })
            #expect(changes.map { $0["policy_version"] as? String } == ["1", "2", "3"])
        }
    }

    /// A version and its policy-change event are one transaction: when the
    /// event cannot be stored (a full disk), neither is the version, and the
    /// push or rollback fails; the chain goes on unbroken afterwards.
    @Test func aPolicyChangeThatCannotBeRecordedIsNotStored() async throws {
        try await withCollector { s in
            #expect(try await push(s, testPolicy(bucket: "reports"), message: "first").0 == 201)
            let store = try #require(s.services.store as? SQLiteCollectorStore)
            try store.write("test trigger") { db in
                try db.execute(sql: """
                    CREATE TRIGGER no_room BEFORE INSERT ON records WHEN NEW.event = 'policy-change'
                    BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
                    """)
            }
            let (status, _) = try await push(s, testPolicy(bucket: "reports-2027"), message: "second")
            #expect(status == 500)
            #expect(try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice", ["version": 1]).status == 500)
            let current = try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-a")
            #expect(current.header("X-Rein-Policy-Version") == "1" && current.bodyText == testPolicy(bucket: "reports"))
            #expect(try await s.call("GET", "/v1/policies/agent-a/history", as: "carol").array.count == 1)
            try store.write("test trigger") { db in try db.execute(sql: "DROP TRIGGER no_room") }
            #expect(try await push(s, testPolicy(bucket: "reports-2027"), message: "second").0 == 201)
            let changes = try await s.records("event=policy-change")
            #expect(changes.map { $0["policy_version"] as? String } == ["1", "2"])
            let report = try await s.call("GET", "/v1/audit/verify?sidecar=collector", as: "carol")
            #expect(report.status == 200 && (report.object["findings"] as? [Any])?.isEmpty == true, "\(report.bodyText)")
        }
    }

    /// An agent with no version yet: a long-poll waits for the first push
    /// (answering 404 at once had every sidecar of the agent spin), and a
    /// plain read is 404 at once.
    @Test func aLongPollForAnAgentWithoutAPolicyWaitsForTheFirstPush() async throws {
        try await withCollector { s in
            #expect(try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-a").status == 404)
            let start = ContinuousClock.now
            #expect(try await s.call("GET", "/v1/policies/agent-a?wait=1", as: "sidecar-a").status == 404)
            #expect(ContinuousClock.now - start >= .milliseconds(900))
            async let polled = s.call("GET", "/v1/policies/agent-a?wait=30", as: "sidecar-a")
            try await Task.sleep(for: .milliseconds(300))
            let pushedAt = ContinuousClock.now
            #expect(try await push(s, testPolicy(bucket: "first")).0 == 201)
            let answer = try await polled
            #expect(answer.status == 200 && answer.bodyText.contains("first"))
            #expect(ContinuousClock.now - pushedAt < .seconds(5))
        }
    }

    @Test func ifNoneMatchAnswers304AndLongPollWaitsForTheNextVersion() async throws {
        try await withCollector { s in
            #expect(try await push(s, testPolicy()).0 == 201)
            let unchanged = try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-a", headers: [("If-None-Match", "\"1\"")])
            #expect(unchanged.status == 304)
            #expect(unchanged.header("ETag") == "\"1\"")
            #expect(unchanged.body.isEmpty)
            #expect(try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-a", headers: [("If-None-Match", "W/\"0\", \"7\"")]).status == 200)

            // A long-poll ends with 304 when nothing changes…
            let start = ContinuousClock.now
            let quiet = try await s.call("GET", "/v1/policies/agent-a?wait=1", as: "sidecar-a", headers: [("If-None-Match", "\"1\"")])
            #expect(quiet.status == 304)
            #expect(ContinuousClock.now - start >= .milliseconds(900))

            // …and with the new document as soon as a version is pushed.
            async let polled = s.call("GET", "/v1/policies/agent-a?wait=30", as: "sidecar-a", headers: [("If-None-Match", "\"1\"")])
            try await Task.sleep(for: .milliseconds(300))
            let pushedAt = ContinuousClock.now
            #expect(try await push(s, testPolicy(bucket: "new-bucket")).0 == 201)
            let answer = try await polled
            #expect(answer.status == 200)
            #expect(answer.header("ETag") == "\"2\"")
            #expect(answer.bodyText.contains("new-bucket"))
            #expect(ContinuousClock.now - pushedAt < .seconds(5))
        }
    }

    @Test func invalidPoliciesAre422WithFindings() async throws {
        try await withCollector { s in
            let (status, body) = try await push(s, "agent: [not a policy")
            #expect(status == 422)
            #expect(body["code"] as? String == "PolicyRejected")
            #expect(!((body["findings"] as? [[String: Any]]) ?? []).isEmpty)
            // A document for another agent is refused for this one.
            let (wrongAgent, answer) = try await push(s, testPolicy(agent: "agent-b"))
            #expect(wrongAgent == 422)
            #expect((answer["message"] as? String)?.contains("agent-b") == true)
            // An unknown action is a validation error that force_reason cannot override.
            #expect(try await push(s, testPolicy(actions: "[s3:NoSuchAction]"), force: "please").0 == 422)
            #expect(try await s.call("GET", "/v1/policies/agent-a", as: "carol").status == 404)
        }
    }

    @Test func errorLevelLintBlocksUnlessForcedWithAReason() async throws {
        try await withCollector { s in
            let risky = testPolicy(actions: "[\"*\"]", resource: "*")
            let (blocked, body) = try await push(s, risky, message: "everything")
            #expect(blocked == 422)
            #expect(body["code"] as? String == "PolicyRejected")
            let rules = ((body["findings"] as? [[String: Any]]) ?? []).compactMap { $0["rule"] as? String }
            #expect(rules.contains("REIN-L001"))
            #expect(try await push(s, risky, force: "   ").0 == 422)
            let (forced, created) = try await push(s, risky, message: "incident", force: "break-glass INC-7")
            #expect(forced == 201)
            #expect(created["version"] as? Int == 1)
            let history = try await s.call("GET", "/v1/policies/agent-a/history", as: "alice").array
            #expect(history.first?["force_reason"] as? String == "break-glass INC-7")
        }
    }

    /// A rollback passes the same gate as a push: a forced version comes back
    /// only with a reason of its own, stored with the new version and said in
    /// the policy-change event, which names the version restored.
    @Test func rollbackToAForcedVersionNeedsItsOwnReason() async throws {
        try await withCollector { s in
            let risky = testPolicy(actions: "[\"*\"]", resource: "*")
            #expect(try await push(s, risky, message: "incident", force: "break-glass INC-7").0 == 201)
            #expect(try await push(s, testPolicy(bucket: "reports"), message: "back to normal").0 == 201)
            let blocked = try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice", ["version": 1, "message": "again"])
            #expect(blocked.status == 422)
            #expect(blocked.object["code"] as? String == "PolicyRejected")
            #expect((blocked.object["message"] as? String)?.contains("force_reason") == true)
            #expect(try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice", ["version": 1, "force_reason": " "]).status == 422)
            // Nothing changed.
            #expect(try await s.call("GET", "/v1/policies/agent-a/history", as: "alice").array.count == 2)
            let forced = try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice",
                                          ["version": 1, "message": "INC-8", "force_reason": "break-glass INC-8"])
            #expect(forced.status == 201 && forced.object["version"] as? Int == 3)
            let history = try await s.call("GET", "/v1/policies/agent-a/history", as: "alice").array
            #expect(history.first?["force_reason"] as? String == "break-glass INC-8")
            let change = try #require(try await s.records("event=policy-change").last)
            let reason = try #require(change["reason"] as? String)
            #expect(reason.contains("restoring version 1") && reason.contains("lint errors overridden: break-glass INC-8"))
            // A clean version rolls back with no reason needed.
            #expect(try await s.json("POST", "/v1/policies/agent-a/rollback", as: "alice", ["version": 2]).status == 201)
        }
    }
}
