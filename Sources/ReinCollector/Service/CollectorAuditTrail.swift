import Foundation
import Logging
import ReinAudit
import ReinCrypto
import ReinStore
import Synchronization

/// The collector's own audit chain (sidecar id `collector`): policy changes
/// and refused API calls.
///
/// Why through the ingest path: the collector's events are sealed with the
/// same ``AuditChain`` as a sidecar's and stored by
/// ``CollectorStore/ingest(_:at:)``, so they are verified, queryable
/// (`event=policy-change`, `event=access-denied`) and exported exactly like
/// sidecar records. Sealing and storing happen under one lock so that
/// events reach the store in chain order, and the chain advances only when
/// the store accepted the record.
public final class CollectorAuditTrail: Sendable {
    public static let sidecarId = "collector"

    private struct State {
        var chain: AuditChain
        /// The sequence the last signed checkpoint covers.
        var checkpointed: Int64
    }

    private let store: any CollectorStore
    private let state: Mutex<State>
    private let logger: Logger
    /// Signs checkpoints of the chain head; nil only in tests that do not sign.
    private let key: Ed25519PrivateKey?
    /// A checkpoint after this many events (and whenever ``checkpointNow(at:)`` runs).
    private let checkpointEvery: Int64

    /// Resumes the chain from the store. With a `key`, its public half is
    /// pinned for the collector's chain (a different key than the pinned one
    /// is an `unknown-key` finding, like a sidecar's), and the chain head is
    /// signed every `checkpointEvery` events, so the collector's own events
    /// are as tamper-evident as a sidecar's.
    public init(store: any CollectorStore, logger: Logger, key: Ed25519PrivateKey? = nil,
                checkpointEvery: Int = 100) throws(CollectorStoreError) {
        self.store = store
        self.logger = logger
        self.key = key
        self.checkpointEvery = Int64(max(1, checkpointEvery))
        let head = try store.sidecar(Self.sidecarId)?.head ?? AuditChain()
        if let key {
            let outcome = try store.register(SidecarRegistration(sidecarId: Self.sidecarId, agentId: "", taskId: nil,
                                                                 publicKey: key.publicKey.description, version: nil,
                                                                 registeredBy: "rein collector"), at: RFC3339Time.milliseconds(of: Date()))
            if outcome.status == .mismatch {
                logger.error("the collector's signing key differs from the one pinned for its audit chain; its checkpoints will be flagged",
                             metadata: ["audit.sidecar_id": "\(Self.sidecarId)"])
            }
        }
        // Unknown at start: the next checkpoint covers everything so far.
        state = Mutex(State(chain: head, checkpointed: 0))
    }

    /// The pinned checkpoint key's public half (hex), when signing.
    public var publicKey: String? { key?.publicKey.description }

    /// Seals and stores one event (blocking: call it off event loops).
    @discardableResult
    public func append(_ record: AuditRecord, at now: Int64) throws -> IngestOutcome {
        let (stored, checkpointed) = try sealing(at: now) { seal in try store.ingest(seal(record), at: now) }
        var outcome = stored
        outcome.findings += checkpointed?.findings ?? []
        return outcome
    }

    /// Runs `store` with a sealer for one event that `store` commits in a
    /// transaction of its own (a policy version and its `policy-change`
    /// record together). The chain moves on only when `store` returns, so a
    /// failed write leaves it where it was.
    public func appendWithin<T: Sendable>(at now: Int64, _ store: (_ seal: (AuditRecord) throws -> AuditBatch) throws -> T) throws -> T {
        try sealing(at: now, store).result
    }

    /// The one place events are sealed: `write` stores the batch `seal`
    /// makes; on success the chain moves on and is checkpointed when due
    /// (a checkpoint that fails is logged and tried again later: the event
    /// is stored, so it must not read as a failure); on failure the chain is
    /// taken back from the store.
    private func sealing<T: Sendable>(at now: Int64, _ write: (_ seal: (AuditRecord) throws -> AuditBatch) throws -> T)
        throws -> (result: T, checkpoint: IngestOutcome?) {
        try state.withLock { s in
            var next = s.chain
            let result: T
            do {
                result = try write { record in
                    var r = record
                    r.sidecarId = Self.sidecarId
                    let sealed = try next.seal(&r)
                    return AuditBatch(sidecarId: Self.sidecarId, items: [.record(try IngestRecord(sealed: sealed))])
                }
            } catch {
                resync(&s)
                throw error
            }
            s.chain = next
            var checkpointed: IngestOutcome?
            if next.lastSequence - s.checkpointed >= checkpointEvery {
                do { checkpointed = try checkpoint(&s, at: now) } catch {
                    logger.error("could not checkpoint the collector's audit chain", metadata: ["error": "\(error)"])
                }
            }
            return (result, checkpointed)
        }
    }

    /// After a failed write, takes the chain head from the store: a write can
    /// fail after its commit (the sync), and the next event must follow what
    /// is stored, not reuse its sequence.
    private func resync(_ s: inout State) {
        if let head = try? store.sidecar(Self.sidecarId)?.head { s.chain = head }
    }

    /// Signs a checkpoint of the head if it moved since the last one (the
    /// collector calls this on a timer and at shutdown).
    @discardableResult
    public func checkpointNow(at now: Int64) throws -> IngestOutcome? {
        try state.withLock { s in try checkpoint(&s, at: now) }
    }

    private func checkpoint(_ s: inout State, at now: Int64) throws -> IngestOutcome? {
        guard let key, s.chain.lastSequence > s.checkpointed else { return nil }
        let cp = try AuditCheckpoint.sign(sidecarId: Self.sidecarId, sequence: s.chain.lastSequence, hash: s.chain.lastHash,
                                          time: AuditRecord.timestamp(Date(timeIntervalSince1970: Double(now) / 1000)), key: key)
        let outcome = try store.ingest(AuditBatch(sidecarId: Self.sidecarId, items: [.checkpoint(cp, line: Array(try cp.jsonLine().dropLast()))]), at: now)
        s.checkpointed = s.chain.lastSequence
        return outcome
    }

    /// A refused API call, as an `access-denied` event. The token's name is
    /// recorded (in `access_key_id`, the credential's identifier), never the token.
    public static func accessDenied(_ refusal: RefusalThrottle.Refusal) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(refusal.time), sidecarId: sidecarId,
                            via: AuditRecord.collectorVia, decision: "deny")
        r.event = "access-denied"
        r.agentId = refusal.agentId
        r.accessKeyId = refusal.actor
        r.sourceAddress = refusal.sourceAddress
        r.userAgent = refusal.userAgent
        r.service = "rein-collector"
        r.operation = refusal.route
        r.reason = "\(refusal.actor): \(refusal.reason)"
        r.errorCode = "AccessDenied"
        r.upstreamStatus = refusal.status
        return r
    }

    /// The API tokens replaced by a configuration reload, as a `token-change`
    /// event: by name only (a hash is not a secret, but nobody needs it here).
    public static func tokenChange(_ change: TokenChange, time: Date) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(time), sidecarId: sidecarId,
                            via: AuditRecord.collectorVia, decision: "allow")
        r.event = "token-change"
        r.accessKeyId = "configuration-reload"
        r.service = "rein-collector"
        r.operation = "ReloadTokens"
        r.reason = "the collector's API tokens were reloaded from its configuration: \(change.summary)"
        return r
    }

    /// An admin's retirement of a sidecar, as a `sidecar-retired` event: who,
    /// why, and what it had not shipped when last heard from (records on its
    /// disk that the collector will not get are an accepted loss from here).
    public static func sidecarRetired(_ entry: SidecarEntry, actor: String, reason: String, sourceAddress: String?, userAgent: String?,
                                      time: Date) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(time), sidecarId: sidecarId,
                            via: AuditRecord.collectorVia, decision: "allow")
        r.event = "sidecar-retired"
        r.agentId = entry.agentId
        r.taskId = entry.taskId
        r.accessKeyId = actor
        r.sourceAddress = sourceAddress
        r.userAgent = userAgent
        r.service = "rein-collector"
        r.operation = "RetireSidecar"
        let seen = entry.lastSeen.map { "last seen \(RFC3339Time.string(milliseconds: $0))" } ?? "never seen"
        let backlog = entry.spoolDepth.map { "\($0) records spooled at its last heartbeat" } ?? "spool depth never reported"
        r.reason = "\(actor) retired sidecar \(entry.sidecarId) (\(seen), \(entry.storedSequence) records stored here, \(backlog)): \(reason)"
        return r
    }

    /// A pushed or rolled-back policy, as a `policy-change` event.
    public static func policyChange(actor: String, operation: String, agentId: String, version: Int64, message: String,
                                    sha256: String, forceReason: String?, rollbackOf: Int64? = nil, sourceAddress: String?,
                                    userAgent: String?, time: Date) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(time), sidecarId: sidecarId,
                            via: AuditRecord.collectorVia, decision: "allow")
        r.event = "policy-change"
        r.agentId = agentId
        r.accessKeyId = actor
        r.sourceAddress = sourceAddress
        r.userAgent = userAgent
        r.service = "rein-collector"
        r.operation = operation
        r.policyVersion = String(version)
        let verb = rollbackOf.map { "rolled back (restoring version \($0))" } ?? "pushed"
        var reason = "\(actor) \(verb) the policy of \(agentId) as version \(version) (sha256 \(sha256)): \(message)"
        if let forceReason { reason += " [lint errors overridden: \(forceReason)]" }
        r.reason = reason
        return r
    }
}
