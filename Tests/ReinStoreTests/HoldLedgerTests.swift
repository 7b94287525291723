import Foundation
import ReinHolds
import Synchronization
import Testing
@testable import ReinStore

/// A ledger on a temporary file with a hand-driven clock and recorded events.
final class HoldFixture: Sendable {
    let dir: String
    let clock = Atomic<Int64>(1_800_000_000_000)
    let events = Mutex<[HoldEvent]>([])
    let settings: HoldSettings

    init(settings: HoldSettings = HoldSettings(expire: .seconds(60), maxGrant: .seconds(600), defaultGrant: .seconds(120))) throws {
        dir = NSTemporaryDirectory() + "rein-holds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.settings = settings
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func open() throws -> SQLiteHoldLedger {
        try SQLiteHoldLedger(path: dir + "/holds.sqlite", settings: settings, now: { [self] in self.clock.load(ordering: .relaxed) },
                             onEvent: { [self] e in self.events.withLock { $0.append(e) } })
    }

    func advance(seconds: Int64) { clock.add(seconds * 1000, ordering: .relaxed) }

    var eventKinds: [HoldEvent.Kind] { events.withLock { $0.map(\.kind) } }

    static func request(key: String = String(repeating: "a", count: 64), agent: String = "agent-a",
                        resource: String = "arn:aws:s3:::bucket/prod/key") -> NewHold {
        NewHold(key: key, sidecarId: "sc-1", agentId: agent, taskId: "task-1", accessKeyId: "ASIAREIN", service: "s3",
                region: "us-east-1", operation: "DeleteObject", grants: [HoldGrantItem(action: "s3:DeleteObject", resources: [resource])],
                summary: HoldSummary(method: "DELETE", host: "bucket.s3.amazonaws.com", path: "/prod/key", queryKeys: [],
                                     contentLength: nil, userAgent: "boto3", sourceAddress: "127.0.0.1"),
                statementId: "HoldDeletes", reasonHeld: "statement HoldDeletes requires a person")
    }
}

struct HoldLedgerTests {
    @Test func aRetryOfTheSameCallAttachesToTheSameHold() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let first = try await ledger.register(HoldFixture.request())
        #expect(first.status == .pending && first.id.hasPrefix("h-") && HoldIdentity.isValidId(first.id))
        let retry = try await ledger.register(HoldFixture.request())
        #expect(retry.id == first.id)
        let other = try await ledger.register(HoldFixture.request(key: String(repeating: "b", count: 64)))
        #expect(other.id != first.id)
        #expect(f.eventKinds == [.created, .created])
    }

    /// Events reach the owner in commit order even when handing one over
    /// is slow (the collector writes each into its chain): a decision
    /// committed after a registration is never delivered before it.
    @Test func eventsAreHandedOverInCommitOrder() async throws {
        let f = try HoldFixture()
        let delivered = Mutex<[String]>([])
        let slowFirst = Atomic<Bool>(true)
        let ledger = try SQLiteHoldLedger(path: f.dir + "/holds.sqlite", settings: f.settings, now: { f.clock.load(ordering: .relaxed) },
                                          onEvent: { e in
                                              if e.kind == .created, e.hold.operation == "Slow", slowFirst.exchange(false, ordering: .relaxed) {
                                                  Thread.sleep(forTimeInterval: 0.3)
                                              }
                                              delivered.withLock { $0.append("\(e.kind.rawValue) \(e.hold.operation)") }
                                          })
        let early = try await ledger.register(HoldFixture.request())
        var slow = HoldFixture.request(key: String(repeating: "b", count: 64))
        slow.operation = "Slow"
        let registering = Task { try await ledger.register(slow) }
        // Once the slow hold is committed (its event is being handed over), decide the other.
        let deadline = Date().addingTimeInterval(5)
        while try await ledger.list(HoldFilter(limit: 10)).count < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(1)) }
        _ = try await ledger.decide(id: early.id, .deny(reason: "no"), by: "alice")
        _ = try await registering.value
        #expect(delivered.withLock { $0 } == ["hold-created DeleteObject", "hold-created Slow", "hold-denied DeleteObject"])
    }

    /// The key is a digest the caller sends: another call claiming it (other
    /// sidecar, agent, operation or grants) gets a hold of its own, never the
    /// approval a person gave to the first.
    @Test func anotherCallWithTheSameKeyGetsAHoldOfItsOwn() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let first = try await ledger.register(HoldFixture.request())
        _ = try await ledger.decide(id: first.id, .approve(scope: .request, duration: nil, reason: "ok"), by: "alice")
        var otherResource = HoldFixture.request(resource: "arn:aws:s3:::bucket/prod/db.bak")
        otherResource.operation = "DeleteObject"
        var otherSidecar = HoldFixture.request()
        otherSidecar.sidecarId = "sc-2"
        var otherAgent = HoldFixture.request(agent: "agent-b")
        otherAgent.sidecarId = "sc-b"
        for claim in [otherResource, otherSidecar, otherAgent] {
            let got = try await ledger.register(claim)
            #expect(got.id != first.id && got.status == .pending && got.sameCall(as: claim))
        }
        // The same call again still finds its approval.
        #expect(try await ledger.register(HoldFixture.request()).id == first.id)
    }

    @Test func approvalIsOneShotAndIdempotent() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        let approved = try await ledger.decide(id: hold.id, .approve(scope: .request, duration: nil, reason: "ok"), by: "alice")
        #expect(approved.status == .approved && approved.approver == "alice" && approved.grantId == nil)
        // Approving again changes nothing; denying now is a conflict.
        let again = try await ledger.decide(id: hold.id, .approve(scope: .request, duration: nil, reason: "ok again"), by: "bob")
        #expect(again == approved)
        await #expect(throws: HoldError.self) { try await ledger.decide(id: hold.id, .deny(reason: "no"), by: "bob") }
        // The approved, unused hold is what a retry attaches to; one use only.
        #expect(try await ledger.register(HoldFixture.request()).id == hold.id)
        #expect(try await ledger.consume(id: hold.id) == true)
        #expect(try await ledger.consume(id: hold.id) == false)
        // After its use, the same call raises a new hold.
        let next = try await ledger.register(HoldFixture.request())
        #expect(next.id != hold.id && next.status == .pending)
        #expect(f.eventKinds == [.created, .approved, .created])
    }

    @Test func expiredAndDeniedHoldsCannotBeApproved() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let denied = try await ledger.register(HoldFixture.request())
        _ = try await ledger.decide(id: denied.id, .deny(reason: "not in prod"), by: "alice")
        do {
            _ = try await ledger.decide(id: denied.id, .approve(scope: .request, duration: nil, reason: "x"), by: "bob")
            Issue.record("approving a denied hold must fail")
        } catch {
            #expect(error.kind == .conflict)
        }
        await #expect(throws: HoldError.self) { try await ledger.consume(id: denied.id) }

        let pending = try await ledger.register(HoldFixture.request(key: String(repeating: "c", count: 64)))
        f.advance(seconds: 61)
        #expect(try await ledger.hold(id: pending.id)?.status == .expired)
        do {
            _ = try await ledger.decide(id: pending.id, .approve(scope: .request, duration: nil, reason: "late"), by: "alice")
            Issue.record("approving an expired hold must fail")
        } catch {
            #expect(error.kind == .conflict)
        }
        #expect(f.eventKinds.filter { $0 == .expired }.count == 1)
    }

    @Test func theSweepExpiresHoldsNobodyAsksAbout() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        #expect(try await ledger.expireDue().isEmpty)
        f.advance(seconds: 60)
        let expired = try await ledger.expireDue()
        #expect(expired.map(\.id) == [hold.id] && expired.first?.status == .expired)
        #expect(try await ledger.expireDue().isEmpty)
    }

    @Test func aScopedGrantCoversMatchingCallsUntilItExpires() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        let approved = try await ledger.decide(id: hold.id, .approve(scope: .actionResource, duration: .seconds(60), reason: "cleanup"), by: "alice")
        #expect(approved.grantId != nil && approved.grantExpiresMs == f.clock.load(ordering: .relaxed) + 60_000)
        let wanted = [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::bucket/prod/key"])]
        let grant = try await ledger.matchingGrant(agentId: "agent-a", taskId: "task-1", grants: wanted)
        #expect(grant?.id == approved.grantId && grant?.approver == "alice")
        // Not another resource, action, agent or task.
        #expect(try await ledger.matchingGrant(agentId: "agent-a", taskId: "task-1",
                                              grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::bucket/prod/other"])]) == nil)
        #expect(try await ledger.matchingGrant(agentId: "agent-a", taskId: "task-1",
                                              grants: [HoldGrantItem(action: "s3:PutObject", resources: ["arn:aws:s3:::bucket/prod/key"])]) == nil)
        #expect(try await ledger.matchingGrant(agentId: "agent-b", taskId: "task-1", grants: wanted) == nil)
        #expect(try await ledger.matchingGrant(agentId: "agent-a", taskId: "task-2", grants: wanted) == nil)
        f.advance(seconds: 61)
        #expect(try await ledger.matchingGrant(agentId: "agent-a", taskId: "task-1", grants: wanted) == nil)
        #expect(f.eventKinds == [.created, .approved, .grantUsed])
    }

    @Test func aGrantIsCappedByTheConfiguredMaximum() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        let approved = try await ledger.decide(id: hold.id, .approve(scope: .actionResource, duration: .seconds(86_400), reason: "x"), by: "alice")
        #expect(approved.grantExpiresMs == f.clock.load(ordering: .relaxed) + 600_000)
    }

    @Test func holdsAndDecisionsSurviveReopening() async throws {
        let f = try HoldFixture()
        var ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        ledger.close()
        ledger = try f.open()
        #expect(try await ledger.register(HoldFixture.request()).id == hold.id)
        _ = try await ledger.decide(id: hold.id, .approve(scope: .request, duration: nil, reason: "ok"), by: "alice")
        ledger.close()
        ledger = try f.open()
        #expect(try await ledger.hold(id: hold.id)?.status == .approved)
        #expect(try await ledger.consume(id: hold.id))
    }

    @Test func aWaiterWakesOnTheDecision() async throws {
        let f = try HoldFixture()
        let ledger = try f.open()
        let hold = try await ledger.register(HoldFixture.request())
        async let waited = ledger.waitForDecision(id: hold.id, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(100))
        _ = try await ledger.decide(id: hold.id, .deny(reason: "no"), by: "alice")
        let result = try await waited
        #expect(result.status == .denied && result.decisionReason == "no")
        // Without a decision, the wait ends at its timeout, still pending.
        let other = try await ledger.register(HoldFixture.request(key: String(repeating: "d", count: 64)))
        #expect(try await ledger.waitForDecision(id: other.id, timeout: .milliseconds(50)).status == .pending)
    }
}
