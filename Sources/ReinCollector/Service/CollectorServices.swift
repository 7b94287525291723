import Foundation
import Logging
import NIOHTTP1
import NIOPosix
import ReinAudit
import ReinCollectorClient
import ReinCompliance
import ReinHolds
import ReinStore
import Synchronization

/// What every route handler shares: configuration, the store (reached
/// through a thread pool), the authenticator, the collector's own audit
/// trail, the long-poll signals and the policy gate.
///
/// Why a thread pool: SQLite calls block; event loops must not, so every
/// store call goes through ``blocking(_:)``.
public final class CollectorServices: Sendable {
    public let configuration: CollectorConfiguration
    public let store: any CollectorStore
    /// Who may call, from `tokens` (replaced by ``replaceTokens(_:)`` on SIGHUP).
    public var authenticator: CollectorAuthenticator { access.withLock { $0.authenticator } }
    /// The API tokens in force: the configuration's until a reload replaces them.
    public var tokens: [CollectorToken] { access.withLock { $0.tokens } }
    private let access: Mutex<(tokens: [CollectorToken], authenticator: CollectorAuthenticator)>
    public let trail: CollectorAuditTrail
    public let policyGate: PolicyGate
    /// AWS's names for the services in records, for OCSF and CloudTrail exports.
    public let exportNaming: AuditExport.Naming
    /// An IAM action in the spelling records use (the catalog's), for the `action` filter.
    public let canonicalAction: @Sendable (String) -> String
    /// The holds API over the collector's hold ledger; nil when not set up.
    public let holds: HoldAPI?
    /// The framework catalogs reports judge against (`compliance_dir`).
    public let complianceCatalogs: [ComplianceCatalog]
    /// Where integrity findings and fleet changes are also posted (`alerts.webhook_url`); nil: the log only.
    public let alerts: WebhookSender?
    /// Signalled when records were stored.
    public let recordsChanged = ChangeSignal()
    /// Signalled when a policy version was stored.
    public let policiesChanged = ChangeSignal()
    public let logger: Logger
    /// What `GET /metrics` serves.
    public let metrics: CollectorMetrics
    let threadPool: NIOThreadPool
    /// The clock, injected for tests.
    let now: @Sendable () -> Date
    let inFlight = Atomic<Int>(0)
    /// Request body bytes being read, over every connection and per token
    /// (`configuration.maxBufferedBodyBytes`).
    let bodyBudget: BodyBudget
    /// Open connections (`configuration.maxConnections`).
    let openConnections = Atomic<Int>(0)

    public init(configuration: CollectorConfiguration, store: any CollectorStore, trail: CollectorAuditTrail,
                policyGate: PolicyGate, threadPool: NIOThreadPool, logger: Logger, holds: HoldAPI? = nil,
                complianceCatalogs: [ComplianceCatalog] = [], alerts: WebhookSender? = nil,
                exportNaming: AuditExport.Naming = .asRecorded,
                canonicalAction: @escaping @Sendable (String) -> String = { $0 },
                metrics: CollectorMetrics = CollectorMetrics(version: "dev"),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.metrics = metrics
        self.exportNaming = exportNaming
        self.canonicalAction = canonicalAction
        self.holds = holds
        self.alerts = alerts
        self.complianceCatalogs = complianceCatalogs
        self.configuration = configuration
        self.store = store
        access = Mutex((configuration.tokens, CollectorAuthenticator(tokens: configuration.tokens)))
        bodyBudget = BodyBudget(limit: configuration.maxBufferedBodyBytes)
        self.trail = trail
        self.policyGate = policyGate
        self.threadPool = threadPool
        self.logger = logger
        self.now = now
    }

    /// Puts `tokens` in force for every request from now on and returns what
    /// changed. A request already past authentication (a long-poll) finishes
    /// under the token it presented.
    public func replaceTokens(_ tokens: [CollectorToken]) -> TokenChange {
        let authenticator = CollectorAuthenticator(tokens: tokens)
        return access.withLock { current in
            defer { current = (tokens, authenticator) }
            return TokenChange(from: current.tokens, to: tokens)
        }
    }

    /// Epoch milliseconds now.
    public var nowMillis: Int64 { RFC3339Time.milliseconds(of: now()) }

    /// Threads for blocking store work (``blocking(_:)``). Why more than the
    /// cores: an ingest call spends part of its time waiting, for the single
    /// writer (group commit) or for its group's fsync, and the cores should
    /// meanwhile parse other sidecars' batches. Measured on 2 cores, 1,000-
    /// record batches: 106k–110k records/s with 4 threads, 117k–119k with 8
    /// in the same hour; past that the disk (about 2.6 KB written per
    /// record: the log, then the database) is the limit.
    public static let blockingThreads = 8

    /// Read queries running at once (``reading(_:)``): fewer than the pool's threads.
    public static let readSlots = 4
    private let readGate = ReadGate(slots: CollectorServices.readSlots)

    /// Runs a read query on the thread pool, at most ``readSlots`` at once
    /// and half of them for one caller (``ReadGate``),
    /// so that reads (scans, long-polls, reports) never take every thread
    /// from ingest and the other writes.
    public func reading<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let holder = ReadGate.holder
        await readGate.acquire(for: holder)
        do {
            let value = try await blocking(body)
            await readGate.release(for: holder)
            return value
        } catch {
            await readGate.release(for: holder)
            throw error
        }
    }

    /// Runs blocking work (SQLite) on the thread pool.
    public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await threadPool.runIfActive(body)
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw CollectorAPIError(.serviceUnavailable, code: "Unavailable", message: "the collector is shutting down")
        }
    }

    /// Which refusals become audit events (at most one per actor, route and client each second).
    public let refusals = RefusalThrottle()

    /// Appends an event to the collector's own chain; failures are logged, not thrown.
    public func audit(_ record: AuditRecord) async {
        let time = nowMillis
        do {
            let outcome = try await blocking { [trail] in try trail.append(record, at: time) }
            recordsChanged.signal()
            logIntegrity(outcome.findings)
        } catch {
            logger.error("could not record a collector audit event", metadata: ["audit.event": "\(record.event)", "error": "\(error)"])
        }
    }

    /// Answers 401/403 `AccessDenied`, after logging the refusal and
    /// recording it as an `access-denied` event (repeats within a second
    /// are folded into one more event when the second ends: see
    /// ``RefusalThrottle`` and ``recordFoldedRefusals(now:)``).
    public func refuse(request: CollectorRequest, route: CollectorRoute, principal: CollectorPrincipal?,
                       status: HTTPResponseStatus, reason: String, agentId: String? = nil) async -> CollectorResponse {
        metrics.accessDenied(status: status.code)
        let actor = principal?.name ?? "(no valid token)"
        let routeName = "\(route.method.rawValue) \(route.pattern)"
        // What a client sends is clipped before it is kept: refusals cost no
        // token, so they must not be a way to fill the chain or the log.
        let refusal = RefusalThrottle.Refusal(actor: actor, route: routeName, status: Int(status.code), reason: Self.clip(reason, 512),
                                              agentId: agentId.map { Self.clip($0, 128) }, sourceAddress: request.remoteAddress,
                                              userAgent: request.header("User-Agent").map { Self.clip($0, 256) }, time: now())
        if refusals.admit(refusal) == .record {
            logger.notice("access denied", metadata: ["token.name": "\(actor)", "route": "\(routeName)",
                                                      "client.address": "\(request.remoteAddress ?? "?")", "reason": "\(refusal.reason)"])
            await audit(CollectorAuditTrail.accessDenied(refusal))
        }
        return .error(status, code: "AccessDenied", message: reason)
    }

    /// `text` cut to `limit` characters, saying so.
    static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "… (\(text.count) characters)"
    }

    /// Records the refusals folded in windows that have ended, one event per
    /// (actor, route, client) with their count. Called every second, and at
    /// shutdown with `.distantFuture` so that none is left unrecorded.
    public func recordFoldedRefusals(now: Date) async {
        for folded in refusals.due(now: now) {
            var r = folded.refusal
            r.reason += " (\(folded.count) similar refusal\(folded.count == 1 ? "" : "s") folded into this event, "
                + "from \(AuditRecord.timestamp(folded.since)) to \(AuditRecord.timestamp(r.time)); this is the last"
            if folded.agents.count + folded.moreAgents > 1 {
                // Several agents were named: list them, and file the event under none of them.
                r.reason += "; agents named: \(folded.agents.joined(separator: ", "))"
                    + (folded.moreAgents > 0 ? " and \(folded.moreAgents) more" : "")
                r.agentId = nil
            }
            r.reason += ")"
            logger.notice("access denied (folded)", metadata: ["token.name": "\(r.actor)", "route": "\(r.route)",
                                                               "refusals": "\(folded.count)", "reason": "\(Self.clip(r.reason, 512))"])
            await audit(CollectorAuditTrail.accessDenied(r))
        }
    }

    /// The alert: every integrity finding is logged at error level and,
    /// with `alerts.webhook_url`, posted there (one message for the lot:
    /// ``IntegrityAlertMessage``; queued, so ingest never waits for it).
    public func logIntegrity(_ findings: [StoredFinding]) {
        if let alerts, !findings.isEmpty {
            let ids = findings.map { String($0.id) }.joined(separator: ",")
            let logger = logger
            alerts.send(IntegrityAlertMessage.payload(for: findings, consoleURL: configuration.alertsConsoleURL),
                        metadata: ["finding.ids": "\(ids)"]) { outcome in
                if case .failed(let reason, let attempts) = outcome {
                    logger.error("integrity alert webhook gave up: the findings are stored, but nobody was told", metadata: [
                        "finding.ids": "\(ids)", "webhook.error": "\(reason)", "webhook.attempts": "\(attempts)",
                    ])
                }
            }
        }
        for stored in findings {
            let f = stored.finding
            logger.error("audit integrity finding", metadata: [
                "finding.id": "\(stored.id)", "finding.kind": "\(f.kind.rawValue)", "sidecar.id": "\(f.sidecarId)",
                "audit.sequence": "\(f.sequence.map(String.init) ?? "-")", "audit.record_id": "\(f.recordId ?? "-")",
                "finding.detail": "\(f.detail)",
            ])
        }
    }
}
