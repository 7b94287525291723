import Foundation
import Logging
import ReinCatalog
import ReinHolds
import ReinStore
import Synchronization
import Testing
@testable import ReinSidecar

/// The sidecar forwards a held call only on an answer that is about that
/// call: whatever the ledger (a collector, or something posing as one)
/// answers is checked, and anything else refuses the call (retryable).
@Suite struct HoldKeeperTests {
    /// A real ledger on a temporary file whose answers a test may replace.
    final class Ledger: HoldLedger, Sendable {
        let real: SQLiteHoldLedger
        let dir: String
        let waitAnswer = Mutex<(@Sendable (Hold) -> Hold)?>(nil)
        let grantAnswer = Mutex<HoldGrant?>(nil)

        init() throws {
            dir = NSTemporaryDirectory() + "rein-keeper-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            real = try SQLiteHoldLedger(path: dir + "/holds.sqlite", settings: HoldSettings())
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func register(_ new: NewHold) async throws(HoldError) -> Hold { try await real.register(new) }
        func hold(id: String) async throws(HoldError) -> Hold? { try await real.hold(id: id) }
        func list(_ filter: HoldFilter) async throws(HoldError) -> [Hold] { try await real.list(filter) }
        func decide(id: String, _ decision: HoldDecision, by approver: String) async throws(HoldError) -> Hold {
            try await real.decide(id: id, decision, by: approver)
        }
        func waitForDecision(id: String, timeout: Duration) async throws(HoldError) -> Hold {
            let hold = try await real.waitForDecision(id: id, timeout: timeout)
            return waitAnswer.withLock { $0 }.map { $0(hold) } ?? hold
        }
        func consume(id: String) async throws(HoldError) -> Bool { try await real.consume(id: id) }
        func matchingGrant(agentId: String, taskId: String, grants: [HoldGrantItem]) async throws(HoldError) -> HoldGrant? {
            if let forged = grantAnswer.withLock({ $0 }) { return forged }
            return try await real.matchingGrant(agentId: agentId, taskId: taskId, grants: grants)
        }
    }

    static func request(resource: String = "arn:aws:s3:::bucket/prod/key") -> HoldRequest {
        HoldRequest(agentId: "agent-a", taskId: "task-1", operation: "DeleteObject",
                    grants: [ActionResources(action: "s3:DeleteObject", resources: [resource])], statementId: "HoldDeletes",
                    reason: "statement HoldDeletes requires a person", key: String(repeating: "a", count: 64),
                    summary: HoldSummary(method: "DELETE", host: "bucket.s3.amazonaws.com", path: "/prod/key", queryKeys: [],
                                         contentLength: nil, userAgent: "boto3", sourceAddress: "127.0.0.1"),
                    service: "s3", region: "us-east-1", accessKeyId: "ASIAREIN")
    }

    static func isUnavailable(_ r: HoldResolution) -> Bool {
        if case .unavailable = r { return true }
        return false
    }

    static func isApproved(_ r: HoldResolution) -> Bool {
        if case .approved = r { return true }
        return false
    }

    /// Approves the call's hold as soon as it is registered.
    static func approveWhenRegistered(_ ledger: Ledger) -> @Sendable (String) -> Void {
        { id in Task { _ = try? await ledger.decide(id: id, .approve(scope: .request, duration: nil, reason: "ok"), by: "bob") } }
    }

    @Test func aWaitAnsweredWithAnotherHoldIsRefused() async throws {
        let ledger = try Ledger()
        let keeper = HoldKeeper(ledger: ledger, sidecarId: "sc-1", wait: .seconds(5), logger: Logger(label: "test.holds"))
        // The honest answer: the approval of this call's own hold.
        #expect(Self.isApproved(await keeper.resolve(Self.request(), registered: Self.approveWhenRegistered(ledger))))
        // Another call's approved hold (another agent and object), or this id with another call.
        let forgeries: [@Sendable (Hold) -> Hold] = [
            { var h = $0; h.id = "h-other001"; h.agentId = "agent-zzz"; h.operation = "GetObject"; return h },
            { var h = $0; h.grants = [HoldGrantItem(action: "s3:GetObject", resources: ["arn:aws:s3:::public/readme"])]; return h },
        ]
        for (n, forge) in forgeries.enumerated() {
            ledger.waitAnswer.withLock { $0 = forge }
            let resolution = await keeper.resolve(Self.request(resource: "arn:aws:s3:::bucket/prod/k\(n)"),
                                                  registered: Self.approveWhenRegistered(ledger))
            #expect(Self.isUnavailable(resolution), "forgery \(n): \(resolution)")
        }
    }

    @Test func aGrantThatDoesNotCoverTheCallIsRefused() async throws {
        let ledger = try Ledger()
        let keeper = HoldKeeper(ledger: ledger, sidecarId: "sc-1", wait: .milliseconds(100), logger: Logger(label: "test.holds"))
        let now = HoldKeeper.nowMs()
        let wanted = [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::bucket/prod/key"])]
        func grant(agent: String = "agent-a", items: [HoldGrantItem] = wanted, expires: Int64 = now + 600_000) -> HoldGrant {
            HoldGrant(id: "g-1", holdId: "h-1", agentId: agent, taskId: "task-1", grants: items, approver: "mallory",
                      reason: "", createdMs: now, expiresMs: expires)
        }
        ledger.grantAnswer.withLock { $0 = grant() }
        #expect(Self.isApproved(await keeper.resolve(Self.request())))
        // The collector's clock decides expiry: a grant this sidecar's clock (ahead) sees
        // as just expired is still used.
        ledger.grantAnswer.withLock { $0 = grant(expires: now - 30_000) }
        #expect(Self.isApproved(await keeper.resolve(Self.request())))
        for forged in [grant(agent: "agent-zzz"), grant(expires: 1),
                       grant(items: [HoldGrantItem(action: "s3:GetObject", resources: ["arn:aws:s3:::public/readme"])])] {
            ledger.grantAnswer.withLock { $0 = forged }
            #expect(Self.isUnavailable(await keeper.resolve(Self.request())), "\(forged)")
        }
    }
}
