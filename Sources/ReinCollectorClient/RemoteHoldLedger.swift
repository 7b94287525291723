import Foundation
import ReinHolds

/// A sidecar's holds kept by the collector: registration, long-polled
/// decisions and grant lookups over the collector API.
///
/// Why it fails closed: when the collector cannot be reached, registering
/// or checking a hold throws `unavailable`, and the sidecar answers the
/// agent with a retryable error; nothing is forwarded without the
/// collector's recorded approval.
public final class RemoteHoldLedger: HoldLedger {
    private let client: CollectorClient
    private let queue = DispatchQueue(label: "rein.holds.remote", attributes: .concurrent)

    public init(client: CollectorClient) {
        self.client = client
    }

    public func register(_ new: NewHold) async throws(HoldError) -> Hold {
        try await run { [client] () throws(CollectorClientError) in try client.registerHold(new) }
    }

    public func hold(id: String) async throws(HoldError) -> Hold? {
        try await run { [client] () throws(CollectorClientError) in try client.hold(id: id) }
    }

    public func list(_ filter: HoldFilter) async throws(HoldError) -> [Hold] {
        try await run { [client] () throws(CollectorClientError) in try client.listHolds(status: filter.status, agentId: filter.agentId) }
    }

    public func decide(id: String, _ decision: HoldDecision, by approver: String) async throws(HoldError) -> Hold {
        // Decisions are made by approvers with their own tokens, never by a sidecar.
        throw HoldError(.forbidden, "a sidecar cannot decide holds")
    }

    public func waitForDecision(id: String, timeout: Duration) async throws(HoldError) -> Hold {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        return try await run { [client] () throws(CollectorClientError) in try client.waitForHold(id: id, seconds: seconds) }
    }

    public func consume(id: String) async throws(HoldError) -> Bool {
        try await run { [client] () throws(CollectorClientError) in try client.consumeHold(id: id) }
    }

    public func matchingGrant(agentId: String, taskId: String, grants: [HoldGrantItem]) async throws(HoldError) -> HoldGrant? {
        try await run { [client] () throws(CollectorClientError) in try client.matchingGrant(agentId: agentId, taskId: taskId, grants: grants) }
    }

    static func holdError(_ e: CollectorClientError) -> HoldError {
        switch e.kind {
        case .unreachable, .server, .protocolError, .notAcknowledged:
            return HoldError(.unavailable, "the collector keeping holds is unavailable: \(e.message)")
        case .accessDenied: return HoldError(.forbidden, e.message)
        case .notFound: return HoldError(.notFound, e.message)
        case .rejected: return e.status == 409 ? HoldError(.conflict, e.message) : HoldError(.badRequest, e.message)
        case .configuration: return HoldError(.unavailable, "the collector keeping holds cannot be reached as configured: \(e.message)")
        }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws(CollectorClientError) -> T) async throws(HoldError) -> T {
        let result: Result<T, HoldError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(CollectorClientError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(Self.holdError(error)))
                }
            }
        }
        return try result.get()
    }
}
