import Foundation
import ReinHolds
import Testing
@testable import ReinStore

/// The holds API's rules: roles, separation of duties, bounds, errors.
struct HoldAPITests {
    static let approver = HoldActor(name: "alice", capabilities: [.decide, .read], ownsAgents: ["agent-b"])
    static let auditor = HoldActor(name: "audit", capabilities: [.read])
    static let sidecar = HoldActor(name: "sc-token", capabilities: [.register], agents: ["agent-a"], isSidecar: true)
    /// A token that is both a sidecar's and an approver's still cannot decide.
    static let sidecarApprover = HoldActor(name: "both", capabilities: [.register, .decide, .read], agents: ["agent-a"], isSidecar: true)

    func call(_ api: HoldAPI, _ method: String, _ path: String, _ body: String = "", query: [String: String] = [:],
              as actor: HoldActor?) async -> (Int, [String: Any]) {
        let r = await api.handle(HoldAPI.Request(method: method, path: path.split(separator: "/").map(String.init), query: query,
                                                 body: Array(body.utf8)), actor: actor)
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, json)
    }

    func registered(_ api: HoldAPI, agent: String = "agent-a") async throws -> String {
        var new = HoldFixture.request(agent: agent)
        new.key = String(repeating: agent == "agent-a" ? "e" : "f", count: 64)
        let body = String(decoding: try JSONEncoder().encode(new), as: UTF8.self)
        let actor = HoldActor(name: "sc", capabilities: [.register], agents: [agent], isSidecar: true)
        let (status, json) = await call(api, "POST", "holds", body, as: actor)
        #expect(status == 200)
        return try #require(json["id"] as? String)
    }

    @Test func rolesAndSeparationOfDuties() async throws {
        let f = try HoldFixture()
        let api = HoldAPI(ledger: try f.open(), settings: f.settings)
        let id = try await registered(api)
        let approve = #"{"reason":"looks fine"}"#

        #expect(await call(api, "POST", "holds/\(id)/approve", approve, as: nil).0 == 401)
        let (sidecarStatus, sidecarJSON) = await call(api, "POST", "holds/\(id)/approve", approve, as: Self.sidecar)
        #expect(sidecarStatus == 403 && (sidecarJSON["message"] as? String)?.contains("sidecar") == true)
        #expect(await call(api, "POST", "holds/\(id)/approve", approve, as: Self.sidecarApprover).0 == 403)
        #expect(await call(api, "POST", "holds/\(id)/approve", approve, as: Self.auditor).0 == 403)
        // The auditor reads; a sidecar reads only its own agents' holds.
        #expect(await call(api, "GET", "holds/\(id)", as: Self.auditor).0 == 200)
        #expect(await call(api, "GET", "holds/\(id)", as: Self.sidecar).0 == 200)
        let foreign = HoldActor(name: "other-sc", capabilities: [.register], agents: ["agent-z"], isSidecar: true)
        #expect(await call(api, "GET", "holds/\(id)", as: foreign).0 == 403)

        // The owner of an agent cannot approve its holds.
        let owned = try await registered(api, agent: "agent-b")
        let (ownerStatus, ownerJSON) = await call(api, "POST", "holds/\(owned)/approve", approve, as: Self.approver)
        #expect(ownerStatus == 403 && (ownerJSON["message"] as? String)?.contains("separation of duties") == true)

        let (status, json) = await call(api, "POST", "holds/\(id)/approve", approve, as: Self.approver)
        #expect(status == 200 && json["status"] as? String == "approved" && json["approver"] as? String == "alice")
    }

    /// A full disk under the holds database is a 503 `InsufficientStorage`
    /// with `Retry-After`, not a 500: nothing changed, and the same request
    /// succeeds once space is freed.
    @Test func aFullDiskIsAnsweredAsOneThatPassesAndChangesNothing() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        defer { ledger.close() }
        let api = HoldAPI(ledger: ledger, settings: f.settings)
        let first = try await registered(api)
        try ledger.capSizeForTesting(true)
        var refused: HoldAPI.Response?
        var tried: [String] = []
        for n in 0..<300 {
            var new = HoldFixture.request()
            new.key = String(format: "%064x", n)
            let answer = await api.handle(HoldAPI.Request(method: "POST", path: ["holds"], query: [:],
                                                          body: Array(try JSONEncoder().encode(new))), actor: Self.sidecar)
            tried.append(new.key)
            if answer.status != 200 {
                refused = answer
                break
            }
        }
        let answer = try #require(refused, "the capped holds database never refused a write")
        let json = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any] ?? [:]
        #expect(answer.status == 503 && answer.retryAfter == 30)
        #expect(json["code"] as? String == "InsufficientStorage")
        #expect((json["message"] as? String)?.contains("the disk under the holds database is full") == true, "\(json)")
        #expect(ledger.durabilityFault == nil, "a full disk is not a lost write")

        try ledger.capSizeForTesting(false)
        let retried = await call(api, "POST", "holds", String(decoding: try JSONEncoder().encode({ () -> NewHold in
            var new = HoldFixture.request()
            new.key = tried.last!
            return new
        }()), as: UTF8.self), as: Self.sidecar)
        #expect(retried.0 == 200)
        #expect(await call(api, "GET", "holds/\(first)", as: Self.auditor).0 == 200)
    }

    @Test func ownerApprovalWhenConfigured() async throws {
        let f = try HoldFixture()
        var settings = f.settings
        settings.allowOwnerApproval = true
        let api = HoldAPI(ledger: try f.open(), settings: settings)
        let owned = try await registered(api, agent: "agent-b")
        #expect(await call(api, "POST", "holds/\(owned)/approve", #"{"reason":"mine, allowed"}"#, as: Self.approver).0 == 200)
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        let f = try HoldFixture()
        let api = HoldAPI(ledger: try f.open(), settings: f.settings)
        let id = try await registered(api)
        #expect(await call(api, "POST", "holds/\(id)/approve", #"{"reason":"  "}"#, as: Self.approver).0 == 400)
        #expect(await call(api, "POST", "holds/\(id)/approve", #"{"reason":"x","scope":"forever"}"#, as: Self.approver).0 == 400)
        let (tooLong, tooLongJSON) = await call(api, "POST", "holds/\(id)/approve",
                                                #"{"reason":"x","scope":"action-resource","for_seconds":3600}"#, as: Self.approver)
        #expect(tooLong == 400 && (tooLongJSON["message"] as? String)?.contains("max_grant") == true)
        #expect(await call(api, "POST", "holds/\(id)/approve", #"{"reason":"x","for_seconds":60}"#, as: Self.approver).0 == 400)
        #expect(await call(api, "GET", "holds/not-an-id", as: Self.auditor).0 == 400)
        #expect(await call(api, "GET", "holds/h-00000000", as: Self.auditor).0 == 404)
        #expect(await call(api, "GET", "holds", query: ["status": "weird"], as: Self.auditor).0 == 400)
        // A timeout that is not a number is refused, not read as the default 20 s.
        #expect(await call(api, "GET", "holds/\(id)/wait", query: ["timeout": "abc"], as: Self.sidecar).0 == 400)
        #expect(await call(api, "GET", "holds/\(id)/wait", query: ["timeout": "-1"], as: Self.sidecar).0 == 400)
        // Still pending after all that.
        let (_, json) = await call(api, "GET", "holds/\(id)", as: Self.auditor)
        #expect(json["status"] as? String == "pending")
        let (listStatus, list) = await call(api, "GET", "holds", query: ["status": "pending"], as: Self.auditor)
        #expect(listStatus == 200 && (list["holds"] as? [[String: Any]])?.count == 1)
    }

    @Test func decidedHoldsAnswerConflict() async throws {
        let f = try HoldFixture()
        let api = HoldAPI(ledger: try f.open(), settings: f.settings)
        let id = try await registered(api)
        #expect(await call(api, "POST", "holds/\(id)/deny", #"{"reason":"no"}"#, as: Self.approver).0 == 200)
        #expect(await call(api, "POST", "holds/\(id)/deny", #"{"reason":"no"}"#, as: Self.approver).0 == 200)
        let (status, json) = await call(api, "POST", "holds/\(id)/approve", #"{"reason":"yes"}"#, as: Self.approver)
        #expect(status == 409 && json["code"] as? String == "HoldStateConflict")
    }

    @Test func holdKeysIgnoreSigningButNotTheCall() {
        let base = HoldIdentity.key(agentId: "a", taskId: "t", grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["r"])],
                                    method: "DELETE", host: "b.s3.amazonaws.com", path: "/k", query: [], payloadHash: "e3b0")
        let presigned = HoldIdentity.key(agentId: "a", taskId: "t", grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["r"])],
                                         method: "DELETE", host: "B.s3.amazonaws.com", path: "/k",
                                         query: [("X-Amz-Date", "20261129T000000Z"), ("X-Amz-Signature", "ff")], payloadHash: "E3B0")
        #expect(base == presigned)
        let otherKey = HoldIdentity.key(agentId: "a", taskId: "t", grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["r"])],
                                        method: "DELETE", host: "b.s3.amazonaws.com", path: "/k2", query: [], payloadHash: "e3b0")
        let otherVersion = HoldIdentity.key(agentId: "a", taskId: "t", grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["r"])],
                                            method: "DELETE", host: "b.s3.amazonaws.com", path: "/k", query: [("versionId", "1")], payloadHash: "e3b0")
        let otherAgent = HoldIdentity.key(agentId: "a2", taskId: "t", grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["r"])],
                                          method: "DELETE", host: "b.s3.amazonaws.com", path: "/k", query: [], payloadHash: "e3b0")
        #expect(Set([base, otherKey, otherVersion, otherAgent]).count == 4)
    }

    @Test func theWebhookPayloadIsSlackShapedAndCarriesNoSecrets() throws {
        let hold = HoldFixture.request().hold(id: "h-abcdefgh", createdMs: 0, expiresMs: 900_000)
        let payload = HoldWebhookMessage.payload(for: hold, consoleURL: "https://collector.internal:7700/")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        let text = try #require(json["text"] as? String)
        #expect(text.contains("h-abcdefgh") && text.contains("s3:DeleteObject") && text.contains("agent-a"))
        #expect((json["blocks"] as? [[String: Any]])?.isEmpty == false)
        let rein = try #require(json["rein"] as? [String: Any])
        #expect((rein["links"] as? [String: String])?["hold"] == "https://collector.internal:7700/v1/holds/h-abcdefgh")
        #expect(!String(decoding: payload, as: UTF8.self).contains("ASIAREIN"))
    }
}
