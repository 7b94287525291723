import Foundation
import ReinCrypto
import Testing
@testable import ReinCollector

/// Roles: who may call what, and every refusal recorded as an access-denied event.
@Suite struct CollectorAuthorizationTests {
    @Test func refusalsAnswerAccessDeniedAndAreAudited() async throws {
        try await withCollector { s in
            let push: [String: Any?] = ["document": testPolicy(), "message": "m"]
            // No token, an unknown token: 401.
            let none = try await s.json("POST", "/v1/policies/agent-a", as: nil, push)
            #expect(none.status == 401)
            #expect(none.object["code"] as? String == "AccessDenied")
            s.advance(seconds: 2) // the same refusal within a second is folded into the next event (below)
            #expect(try await s.json("POST", "/v1/policies/agent-a", as: "tok-made-up-0000000000", push).status == 401)
            // An auditor cannot push.
            let auditor = try await s.json("POST", "/v1/policies/agent-a", as: "carol", push)
            #expect(auditor.status == 403)
            #expect(auditor.object["code"] as? String == "AccessDenied")
            #expect(try await s.json("POST", "/v1/policies/agent-a", as: "alice", push).status == 201)
            // A sidecar token reads its own agent's policy, never another's.
            #expect(try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-a").status == 200)
            #expect(try await s.call("GET", "/v1/policies/agent-a", as: "sidecar-other").status == 403)
            #expect(try await s.call("GET", "/v1/policies/agent-a/versions/1", as: "sidecar-other").status == 403)
            // An approver cannot read the audit trail; a sidecar cannot read the fleet.
            #expect(try await s.call("GET", "/v1/audit/records", as: "bob").status == 403)
            #expect(try await s.call("GET", "/v1/fleet", as: "sidecar-a").status == 403)
            // An admin cannot ship a batch.
            var chain = try ScriptedChain(sidecarId: "sc-1")
            #expect(try await s.ship(try chain.seal(1), sidecarId: "sc-1", as: "alice").status == 403)

            let denied = try await s.records("event=access-denied")
            #expect(denied.count == 8)
            #expect(denied.allSatisfy { $0["decision"] as? String == "deny" && $0["sidecar_id"] as? String == "collector" })
            let actors = denied.compactMap { $0["access_key_id"] as? String }
            #expect(actors.filter { $0 == "(no valid token)" }.count == 2)
            #expect(Set(actors) == ["(no valid token)", "carol", "sidecar-other", "bob", "sidecar-a", "alice"])
            #expect(denied.compactMap { $0["upstream_status"] as? Int }.sorted() == [401, 401, 403, 403, 403, 403, 403, 403])
            let routes = Set(denied.compactMap { $0["operation"] as? String })
            #expect(routes.contains("POST /v1/policies/{agent}"))
            #expect(routes.contains("GET /v1/audit/records"))
            // The agent a refusal was about is recorded; no token text ever is.
            #expect(denied.contains { $0["access_key_id"] as? String == "sidecar-other" && $0["agent_id"] as? String == "agent-a" })
            let text = String(decoding: try JSONSerialization.data(withJSONObject: denied), as: UTF8.self)
            #expect(!text.contains("tok-"))
            // The collector's own chain verifies.
            let verify = try await s.call("GET", "/v1/audit/verify?sidecar=collector", as: "carol").object
            #expect(verify["ok"] as? Bool == true)
            #expect(verify["records"] as? Int == 9)
        }
    }

    @Test func sidecarTokensActOnlyForTheirAgents() async throws {
        try await withCollector { s in
            var foreign = try ScriptedChain(sidecarId: "sc-x", agentId: "agent-a")
            // Records of an agent the token does not serve: the whole batch is refused.
            let refused = try await s.ship(try foreign.seal(2), sidecarId: "sc-x", as: "sidecar-other")
            #expect(refused.status == 403)
            #expect(try await s.records("sidecar=sc-x").isEmpty)
            // Registering for another agent, or a reserved id, is refused.
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-other", foreign.registration).status == 403)
            var reserved = foreign.registration
            reserved["sidecar_id"] = "collector"
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", reserved).status == 400)
            // A sidecar registered for agent-a cannot be taken over by another agent's token.
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", foreign.registration).status == 200)
            s.advance(seconds: 2)
            var hijack = try ScriptedChain(sidecarId: "sc-x", agentId: "agent-other")
            #expect(try await s.ship(try hijack.seal(1), sidecarId: "sc-x", as: "sidecar-other").status == 403)
            // A batch whose records name another sidecar than the header is refused.
            var mismatched = try ScriptedChain(sidecarId: "sc-y")
            #expect(try await s.ship(try mismatched.seal(1), sidecarId: "sc-z").status == 403)
            #expect(try await s.records("event=access-denied").count == 4)
        }
    }

    /// A chain is one agent's: the first batch binds an unregistered sidecar
    /// id to the agent it names, and no other agent's token can then write
    /// into it or register it.
    @Test func aShippedChainBindsItsSidecarIdToItsAgent() async throws {
        try await withCollector { s in
            var chain = try ScriptedChain(sidecarId: "sc-new")
            #expect(try await s.ship(try chain.seal(3), sidecarId: "sc-new").status == 200)
            var other = try ScriptedChain(sidecarId: "sc-new", agentId: "agent-other")
            #expect(try await s.ship(try other.seal(1), sidecarId: "sc-new", as: "sidecar-other").status == 403)
            var claim = other.registration
            claim["sidecar_id"] = "sc-new"
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-other", claim).status == 403)
            let fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(fleet.first { $0["sidecar_id"] as? String == "sc-new" }?["agent_id"] as? String == "agent-a")
            // One batch, two agents: refused whole.
            var mixed = try ScriptedChain(sidecarId: "sc-mixed")
            let lines = try mixed.seal(1) + (try mixed.seal(1) { $0.agentId = "agent-b" })
            #expect(try await s.ship(lines, sidecarId: "sc-mixed", as: "sidecar-ab").status == 400)
            #expect(try await s.records("sidecar=sc-new").count == 3)
            #expect(try await s.records("sidecar=sc-mixed").isEmpty)
            // Records that name no agent cannot start a chain: register first.
            var anonymous = try ScriptedChain(sidecarId: "sc-victim")
            let unnamed = try await s.ship(try anonymous.seal(2) { $0.agentId = nil }, sidecarId: "sc-victim", as: "sidecar-other")
            #expect(unnamed.status == 409 && unnamed.object["code"] as? String == "NotRegistered")
            #expect(try await s.records("sidecar=sc-victim").isEmpty)
            // A registration cannot rebind a bound id either (the binding stays with agent-a).
            var rebind = try ScriptedChain(sidecarId: "sc-new", agentId: "agent-b").registration
            rebind["public_key"] = try Ed25519PrivateKey().publicKey.description
            let moved = try await s.json("POST", "/v1/sidecars/register", as: "sidecar-ab", rebind)
            #expect(moved.status == 409 && moved.object["code"] as? String == "AgentMismatch")
            let beat: [String: Any?] = ["sidecar_id": "sc-new", "agent_id": "agent-b", "spool_depth": 0, "ready": true]
            #expect(try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-ab", beat).status == 409)
            var negative = beat
            negative["agent_id"] = "agent-a"
            negative["spool_depth"] = -5
            #expect(try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-ab", negative).status == 400)
            let after = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(after.first { $0["sidecar_id"] as? String == "sc-new" }?["agent_id"] as? String == "agent-a")
        }
    }

    /// A burst of refusals is its first one plus one event for the rest when
    /// the second ends (also at shutdown): every refusal is in the trail,
    /// without a write per attempt.
    @Test func aBurstOfRefusalsIsTwoEventsThatCountEveryOne() async throws {
        try await withCollector { s in
            for _ in 0..<20 {
                #expect(try await s.call("GET", "/v1/fleet", as: "tok-guessing-0000000000").status == 401)
            }
            #expect(try await s.records("event=access-denied").count == 1)
            // Nothing more happens, and the second ends: the other 19 are recorded.
            s.advance(seconds: 2)
            await s.services.recordFoldedRefusals(now: s.services.now())
            let denied = try await s.records("event=access-denied")
            #expect(denied.count == 2)
            #expect((denied.last?["reason"] as? String)?.contains("19 similar refusals folded into this event") == true)
            // A lone refusal after that is recorded on its own; shutdown flushes what is folded.
            #expect(try await s.call("GET", "/v1/fleet", as: "tok-guessing-0000000000").status == 401)
            #expect(try await s.call("GET", "/v1/fleet", as: "tok-guessing-0000000000").status == 401)
            #expect(try await s.records("event=access-denied").count == 3)
            await s.services.recordFoldedRefusals(now: .distantFuture)
            let all = try await s.records("event=access-denied")
            #expect(all.count == 4)
            #expect((all.last?["reason"] as? String)?.contains("1 similar refusal folded into this event") == true)
        }
    }

    @Test(arguments: [
        ("web-*", "web-1", true), ("web-*", "web-", true), ("web-*", "db-web-1", false), ("web-1", "web-1", true),
        ("web-1", "web-10", false), ("*-eu-*", "web-eu-1", true), ("*-eu-*", "web-us-1", false), ("a*a", "a", false),
        ("a*a", "aa", true), ("*", "anything", true), ("x*y*z", "xyyz", true), ("x*y*z", "xzy", false), ("x*y*z", "x1y2z", true), ("web-?", "web-1", false),
    ])
    func sidecarIdPatternsAreGlobsOfStarOnly(pattern: String, id: String, matches: Bool) {
        #expect(SidecarIdPattern(pattern).matches(id) == matches)
    }

    /// A token with `sidecar_ids` registers, heartbeats and ships only as
    /// those ids; every refusal is an access-denied event that says why.
    @Test func aTokenScopedToSidecarIdsActsOnlyAsThose() async throws {
        try await withCollector { s in
            var web = try ScriptedChain(sidecarId: "web-1")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-web", web.registration).status == 200)
            #expect(try await s.ship(try web.seal(2), sidecarId: "web-1", as: "sidecar-web").status == 200)
            var db = try ScriptedChain(sidecarId: "db-1")
            let registered = try await s.json("POST", "/v1/sidecars/register", as: "sidecar-web", db.registration)
            #expect(registered.status == 403)
            #expect((registered.object["message"] as? String)?.contains("may act only as sidecar ids web-*, not db-1") == true)
            #expect(try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-web", ["sidecar_id": "db-1", "agent_id": "agent-a"]).status == 403)
            #expect(try await s.ship(try db.seal(1), sidecarId: "db-1", as: "sidecar-web").status == 403)
            #expect(try await s.records("sidecar=db-1").isEmpty)
            #expect(try await s.records("sidecar=web-1").count == 2)
            // The same id is fine for an unscoped token of the agent.
            #expect(try await s.ship(try db.seal(1), sidecarId: "db-1").status == 200)
            await s.services.recordFoldedRefusals(now: .distantFuture)
            let denied = try await s.records("event=access-denied")
            #expect(denied.count == 3)
            #expect(denied.allSatisfy { ($0["reason"] as? String)?.contains("not db-1") == true && $0["access_key_id"] as? String == "sidecar-web" })
        }
    }

    /// Refusals cost no token, so what a client sends is clipped before it
    /// is kept (the chain and the log cannot be filled through them), and an
    /// agent id in a body is a plain name or a 400.
    @Test func refusalsKeepOnlyBoundedClientText() async throws {
        try await withCollector { s in
            let agent = String(repeating: "a", count: 5_000)
            let ua = String(repeating: "u", count: 60_000)
            #expect(try await s.call("GET", "/v1/fleet", as: "tok-guessing-0000000000", headers: [("User-Agent", ua)]).status == 401)
            let event = try #require(try await s.records("event=access-denied").first)
            #expect((event["user_agent"] as? String).map { $0.count < 300 && $0.hasSuffix("(60000 characters)") } == true)
            let body = ["sidecar_id": "sc-1", "agent_id": agent, "public_key": String(repeating: "ab", count: 32)]
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", body).status == 400)
            #expect(try await s.json("POST", "/v1/sidecars/heartbeat", as: "sidecar-a", ["sidecar_id": "sc-1", "agent_id": "a/../b"]).status == 400)
            // A long reason (an agent id in a refused policy read) is clipped too.
            let long = String(repeating: "z", count: 128)
            #expect(try await s.call("GET", "/v1/policies/\(long)", as: "sidecar-a").status == 403)
            await s.services.recordFoldedRefusals(now: .distantFuture)
            for e in try await s.records("event=access-denied") {
                #expect(((e["reason"] as? String)?.count ?? 0) < 700 && ((e["agent_id"] as? String)?.count ?? 0) <= 128)
            }
        }
    }

    /// All bodies being read at once stay under the budget: beyond it a
    /// request is answered 503 with Retry-After (the sidecar keeps its
    /// records and retries), and nothing of it is stored.
    @Test func bodiesBeyondTheBufferBudgetAreAskedToRetry() async throws {
        try await withCollector(bodyBudget: 64 << 10) { s in
            var chain = try ScriptedChain(sidecarId: "sc-big")
            let lines = try chain.seal(200)
            let body: [UInt8] = lines.flatMap { line -> [UInt8] in line.last == 10 ? line : line + [10] }
            #expect(body.count > 64 << 10)
            let answer = try await s.call("POST", "/v1/audit/batches", as: "sidecar-a", body: body,
                                          headers: [("Content-Type", "application/x-ndjson"), ("X-Rein-Sidecar-Id", "sc-big")])
            #expect(answer.status == 503 && answer.header("Retry-After") == "1")
            #expect(try await s.records("sidecar=sc-big").isEmpty)
            // A body within the budget goes through as always.
            var small = try ScriptedChain(sidecarId: "sc-small")
            #expect(try await s.ship(try small.seal(2), sidecarId: "sc-small").status == 200)
        }
    }

    /// One token cannot take the whole body budget: while its slow bodies
    /// hold its share, its next batch is asked to retry, and another token's
    /// batch goes through. Once they end, it ships again.
    @Test func oneTokensSlowBodiesLeaveTheRestOfTheBudgetToOthers() async throws {
        try await withCollector(bodyBudget: 64 << 10) { s in
            #expect(s.services.bodyBudget.perToken == 32 << 10)
            var slowChain = try ScriptedChain(sidecarId: "sc-slow")
            let slowBody: [UInt8] = try slowChain.seal(60).flatMap { $0.last == 10 ? $0 : $0 + [10] }
            let holding = (32 << 10) - 64
            #expect(slowBody.count > holding)
            // Half a body, then silence: the collector holds what it read.
            let port = Int(s.url.split(separator: ":").last ?? "") ?? 0
            let slow = try RawConnection(port: port)
            defer { slow.close() }
            let head = "POST /v1/audit/batches HTTP/1.1\r\nHost: collector\r\nAuthorization: Bearer \(CollectorTestServer.tokens["sidecar-a"]!)\r\n"
                + "Content-Type: application/x-ndjson\r\nX-Rein-Sidecar-Id: sc-slow\r\nContent-Length: \(slowBody.count)\r\n\r\n"
            try slow.send(Array(head.utf8) + Array(slowBody.prefix(holding)))
            let deadline = Date().addingTimeInterval(10)
            while s.services.bodyBudget.held(by: "sidecar-a") < holding && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(s.services.bodyBudget.held(by: "sidecar-a") == holding)

            var a = try ScriptedChain(sidecarId: "sc-a")
            let batch = try a.seal(4)
            let refused = try await s.ship(batch, sidecarId: "sc-a", as: "sidecar-a")
            #expect(refused.status == 503 && refused.header("Retry-After") == "1")
            #expect(refused.bodyText.contains("token sidecar-a already has its share"), "\(refused.bodyText)")
            var other = try ScriptedChain(sidecarId: "sc-other")
            #expect(try await s.ship(try other.seal(4), sidecarId: "sc-other", as: "sidecar-ab").status == 200)

            slow.close()
            let released = Date().addingTimeInterval(10)
            while s.services.bodyBudget.total > 0 && Date() < released { try await Task.sleep(for: .milliseconds(10)) }
            #expect(s.services.bodyBudget.total == 0, "a connection's bytes go back when it closes")
            #expect(try await s.ship(batch, sidecarId: "sc-a", as: "sidecar-a").status == 200)
        }
    }

    @Test func healthEndpointsNeedNoToken() async throws {
        try await withCollector { s in
            let health = try await s.call("GET", "/healthz")
            #expect(health.status == 200)
            #expect(health.bodyText == "ok\n")
            #expect(try await s.call("GET", "/readyz").status == 200)
            #expect(try await s.call("GET", "/v1/nothing-here", as: "carol").status == 404)
            let wrongMethod = try await s.call("DELETE", "/v1/fleet", as: "carol")
            #expect(wrongMethod.status == 405 && wrongMethod.header("Allow") == "GET")
            #expect(try await s.records("event=access-denied").isEmpty)
        }
    }

    @Test func tokensAreMatchedByTheirHashOnly() {
        let auth = CollectorAuthenticator(tokens: CollectorTestServer.configuredTokens)
        #expect(auth.authenticate(authorization: "Bearer tok-admin-alice-0123456789") == .authenticated(
            CollectorPrincipal(name: "alice", roles: [.admin])))
        #expect(auth.authenticate(authorization: "bearer   tok-admin-alice-0123456789 ") == .authenticated(
            CollectorPrincipal(name: "alice", roles: [.admin])))
        #expect(auth.authenticate(authorization: "Bearer tok-admin-alice-012345678") == .unknown)
        #expect(auth.authenticate(authorization: "Basic YWxpY2U6eA==") == .missing)
        #expect(auth.authenticate(authorization: nil) == .missing)
        #expect(CollectorAuthenticator.hash(token: "test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    }
}

/// A plain blocking TCP connection to 127.0.0.1, for requests no client would send (half a body).
final class RawConnection {
    private var fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw TestFailure("write failed") }
            offset += n
        }
    }

    func close() {
        if fd >= 0 { _ = Foundation.close(fd) }
        fd = -1
    }

    deinit { close() }
}
