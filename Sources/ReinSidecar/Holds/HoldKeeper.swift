import Foundation
import Logging
import ReinHolds

/// The sidecar's side of holds, over any ``HoldLedger`` (its own SQLite
/// file when standalone, the collector otherwise).
///
/// For each held request: a live scoped grant that covers it lets it
/// through at once; otherwise it is registered (a retry finds the hold it
/// raised before) and waited on for at most `holds.wait`. Then the agent
/// gets the decision, or a retryable error when there is none yet, so that
/// its SDK retries rather than times out. Every failure to reach the
/// ledger fails closed.
public final class HoldKeeper: HoldGate {
    let ledger: any HoldLedger
    let sidecarId: String
    let wait: Duration
    let logger: Logger

    public init(ledger: any HoldLedger, sidecarId: String, wait: Duration, logger: Logger) {
        self.ledger = ledger
        self.sidecarId = sidecarId
        self.wait = wait
        self.logger = logger
    }

    public func submit(_ request: HoldRequest, registered: @escaping @Sendable (String) -> Void,
                       completion: @escaping @Sendable (HoldResolution) -> Void) {
        Task { completion(await resolve(request, registered: registered)) }
    }

    public func consume(holdId: String, completion: @escaping @Sendable (Bool) -> Void) {
        Task { [ledger, logger] in
            do throws(HoldError) {
                completion(try await ledger.consume(id: holdId))
            } catch {
                logger.error("could not claim a hold approval; the call is not forwarded", metadata: ["hold.id": "\(holdId)", "error": "\(error)"])
                completion(false)
            }
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    static let grantExpirySlackMs: Int64 = 5 * 60 * 1000

    /// The retry hint: about a fifth of the wait, at least a second.
    var retryAfterSeconds: Int { max(1, Int(wait.components.seconds) / 5) }

    func resolve(_ request: HoldRequest, registered: @Sendable (String) -> Void = { _ in }) async -> HoldResolution {
        do throws(HoldError) {
            let items = request.holdGrants
            if let grant = try await ledger.matchingGrant(agentId: request.agentId, taskId: request.taskId, grants: items) {
                // Whatever the ledger (a collector) answers must name this call. Its
                // clock decided expiry; this one only refuses a grant long past it
                // (more than SigV4's five minutes of skew).
                guard grant.names(agentId: request.agentId, taskId: request.taskId, wanted: items),
                      grant.expiresMs > Self.nowMs() - Self.grantExpirySlackMs else {
                    logger.error("the hold ledger answered with a grant that does not cover this call; the call is refused", metadata: [
                        "grant.id": "\(grant.id)", "grant.agent": "\(grant.agentId)", "grant.expires_ms": "\(grant.expiresMs)",
                        "operation": "\(request.operation)",
                    ])
                    return .unavailable(reason: "the hold ledger answered with a grant that does not cover this call")
                }
                return .approved(holdId: grant.holdId, approver: grant.approver, grantId: grant.id, reason: grant.reason, consume: false)
            }
            let new = NewHold(key: request.key, sidecarId: sidecarId, agentId: request.agentId, taskId: request.taskId,
                              accessKeyId: request.accessKeyId, service: request.service, region: request.region,
                              operation: request.operation, grants: items, summary: request.summary,
                              statementId: request.statementId, reasonHeld: request.reason)
            var hold = try await ledger.register(new)
            // Whatever the ledger (a collector) answers must be this call's hold.
            guard hold.sameCall(as: new) else {
                logger.error("the hold ledger answered with another call's hold; the call is refused", metadata: [
                    "hold.id": "\(hold.id)", "hold.operation": "\(hold.operation)", "operation": "\(new.operation)",
                ])
                return .unavailable(reason: "the hold ledger answered with another call's hold")
            }
            registered(hold.id)
            if hold.status == .pending {
                logger.notice("request held for approval", metadata: [
                    "hold.id": "\(hold.id)", "agent.id": "\(hold.agentId)", "operation": "\(hold.operation)",
                    "actions": "\(items.map(\.action).joined(separator: ","))",
                ])
                let decided = try await ledger.waitForDecision(id: hold.id, timeout: wait)
                guard decided.id == hold.id, decided.sameCall(as: new) else {
                    logger.error("the hold ledger answered a wait with another call's hold; the call is refused", metadata: [
                        "hold.id": "\(hold.id)", "answered.id": "\(decided.id)", "answered.operation": "\(decided.operation)",
                    ])
                    return .unavailable(reason: "the hold ledger answered with another call's hold")
                }
                hold = decided
            }
            return resolution(for: hold)
        } catch {
            logger.error("hold could not be registered or checked; the call is refused (retryable)", metadata: ["error": "\(error)"])
            return .unavailable(reason: error.message)
        }
    }

    func resolution(for hold: Hold) -> HoldResolution {
        switch hold.status {
        case .pending:
            return .pending(holdId: hold.id, retryAfterSeconds: retryAfterSeconds)
        case .approved where hold.usedMs == nil:
            return .approved(holdId: hold.id, approver: hold.approver ?? "?", grantId: hold.grantId, reason: hold.decisionReason, consume: true)
        case .approved:
            // Another request used this one-shot approval first; a retry raises a new hold.
            return .pending(holdId: hold.id, retryAfterSeconds: retryAfterSeconds)
        case .denied:
            return .denied(holdId: hold.id, approver: hold.approver, reason: hold.decisionReason ?? "denied")
        case .expired:
            return .expired(holdId: hold.id)
        }
    }
}
