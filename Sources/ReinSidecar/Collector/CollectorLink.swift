import Foundation
import Logging
import ReinAudit
import ReinCatalog
import ReinCollectorClient
import ReinPolicy
import ReinStore

/// The sidecar's side of the collector: the audit shipper (with
/// registration and heartbeats) and the central policy fetcher.
///
/// Why one owner: both use the same token and client, both start after the
/// listeners are up and stop before the spool closes, and the policy they
/// apply is what every audit record's `policy_version` names.
public final class CollectorLink: Sendable {
    public let shipper: AuditShipper
    public let fetcher: PolicyFetcher

    /// Where the last policy that applied is kept (and its version beside it).
    public static func lastKnownGoodPath(_ config: SidecarConfiguration) -> String {
        (config.stateDir as NSString).appendingPathComponent("policy.last-known-good.yaml")
    }

    /// The policy a sidecar starts with. With a collector, the last-known-good
    /// copy wins over `policy_file` (it is what was last enforced centrally);
    /// with neither, the collector is asked once, and the sidecar refuses to
    /// start without a policy (fail closed).
    static func initialPolicy(_ config: SidecarConfiguration, logger: Logger) throws -> (text: String, origin: String, version: String?) {
        if config.collector.isEnabled {
            let lkg = lastKnownGoodPath(config)
            if let data = FileManager.default.contents(atPath: lkg) {
                let text = String(decoding: data, as: UTF8.self)
                let version = FileManager.default.contents(atPath: lkg + ".version")
                    .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
                let loaded = PolicyLoader.load(text)
                if loaded.document != nil {
                    logger.info("starting from the last-known-good central policy", metadata: ["policy.path": "\(lkg)", "policy.version": "\(version ?? "?")"])
                    return (text, lkg, version)
                }
                // A damaged copy (a disk fault, a partial write by hand) is not a
                // policy: fall back to policy_file or the collector, as if there were none.
                logger.error("the last-known-good central policy is unusable; falling back to policy_file or the collector", metadata: [
                    "policy.path": "\(lkg)", "policy.problems": "\(loaded.problems.map { "\($0)" }.joined(separator: "; "))",
                ])
            }
        }
        if let file = config.policyFile {
            do { return (try String(contentsOfFile: file, encoding: .utf8), file, nil) } catch {
                throw SidecarStartError("cannot read the policy file \(file): \(error.localizedDescription)")
            }
        }
        guard config.collector.isEnabled, let agent = config.collector.agentId else {
            throw SidecarStartError("no task policy: set policy_file (--policy, REIN_POLICY_FILE), or collector.url with collector.agent_id to fetch it centrally")
        }
        let client = try makeClient(config.collector)
        do {
            switch try client.fetchPolicy(agentId: agent, etag: nil, wait: 0) {
            case .document(let text, let version, _):
                // Kept at once: the fetcher starts from this version and sees no
                // newer one to save, and a restart during an outage needs it.
                if PolicyLoader.load(text).document != nil {
                    PolicyFetcher.saveLastKnownGood(text, version: version, path: lastKnownGoodPath(config), logger: logger)
                }
                return (text, "\(client.baseURL) (agent \(agent))", version)
            case .notModified, .none:
                throw SidecarStartError("the collector has no policy for agent \(agent), and no policy_file is set")
            }
        } catch let error as CollectorClientError {
            throw SidecarStartError("no task policy: the collector is unreachable (\(error)) and there is no last-known-good copy or policy_file")
        }
    }

    static func makeClient(_ settings: CollectorSettings) throws -> CollectorClient {
        guard let url = settings.url else { throw SidecarStartError("collector.url is not set") }
        guard let tokenFile = settings.tokenFile else {
            throw SidecarStartError("collector.token_file is not set: the sidecar authenticates to the collector with a bearer token from a file")
        }
        do {
            return try CollectorClient(baseURL: url, tokenFile: tokenFile, caBundlePath: settings.caFile)
        } catch {
            throw SidecarStartError("collector: \(error)")
        }
    }

    /// Starts shipping, heartbeats and policy fetches.
    /// - Parameter rescope: told of each version applied (the broker's session follows it).
    static func start(config: SidecarConfiguration, services: SidecarServices, live: LivePolicy, catalog: ServiceCatalog,
                      version: String, rescope: (@Sendable (PolicyDocument, String) -> Void)? = nil,
                      readiness: @escaping @Sendable () -> [String], logger: Logger) throws -> CollectorLink {
        let settings = config.collector
        let client = try makeClient(settings)
        let document = live.current.document
        let agentId = document.agent.id
        let spool = services.spool
        let registration = CollectorMessages.Registration(
            sidecarId: config.sidecarId, agentId: agentId, taskId: document.task.id, publicKey: services.auditPublicKey, version: version)
        let shipper = AuditShipper(
            client: client, sidecarId: config.sidecarId, spool: spool,
            settings: .init(maxRecords: settings.batchMaxRecords, interval: seconds(settings.batchMaxInterval),
                            heartbeatInterval: seconds(settings.heartbeatInterval)),
            registration: registration,
            heartbeat: { [services] in
                let stats = spool.stats
                let current = live.current.document
                return CollectorMessages.Heartbeat(
                    sidecarId: config.sidecarId, agentId: current.agent.id, taskId: current.task.id, policyVersion: services.policyVersion,
                    spoolDepth: stats.records, spoolBytes: stats.bytes, lastSequence: stats.lastSequence, ready: readiness().isEmpty,
                    time: AuditRecord.timestamp(Date()))
            },
            logger: Logger(label: "rein.shipper"))
        services.shipper = shipper
        // The central version is what the team wants enforced now. One whose
        // task window has passed (or not begun) applies as it is: its window
        // denies every call. One this sidecar cannot apply otherwise (another
        // agent's, or invalid for this build's catalog) is not silently
        // replaced by the older one: every call is denied, saying why, and
        // /readyz (so the fleet view) reports it until a version applies.
        let apply: PolicyFetcher.Apply = { [services] text, version in
            switch PolicyCheck.check(text, agentId: agentId, catalog: catalog, now: Int64(Date().timeIntervalSince1970)) {
            case .failure(let refusal):
                live.refuse(refusal.document ?? live.current.document,
                            reason: "the central policy version \(version) cannot be applied on this sidecar (\(refusal.reason)); "
                                + "every call is denied until a version that applies is pushed")
                services.policyVersion = version
                return .failure(PolicyApplyRefusal(reason: refusal.reason))
            case .success(let accepted):
                if !accepted.windowProblems.isEmpty {
                    logger.warning("applied the central policy, whose task window denies every call now", metadata: [
                        "policy.version": "\(version)", "policy.problems": "\(accepted.windowProblems.map { "\($0)" }.joined(separator: "; "))",
                    ])
                }
                live.replace(with: accepted.document)
                services.policyVersion = version
                rescope?(accepted.document, version)
                return .success(())
            }
        }
        let fetcher = PolicyFetcher(
            client: client, agentId: agentId, mode: settings.policyFetch == .interval ? .interval : .longPoll,
            interval: seconds(settings.policyInterval), lastKnownGoodPath: lastKnownGoodPath(config),
            initialVersion: services.policyVersion, apply: apply, logger: Logger(label: "rein.policy-fetch"))
        shipper.start()
        fetcher.start()
        logger.info("collector link started", metadata: [
            "collector": "\(client.baseURL)", "policy_fetch": "\(settings.policyFetch.rawValue)",
            "batch_max_records": "\(settings.batchMaxRecords)",
        ])
        return CollectorLink(shipper: shipper, fetcher: fetcher)
    }

    init(shipper: AuditShipper, fetcher: PolicyFetcher) {
        self.shipper = shipper
        self.fetcher = fetcher
    }

    /// Stops fetching and ships what is spooled (bounded), before the spool closes.
    public func stop() {
        fetcher.stop()
        shipper.stop(drain: true, deadline: 5)
    }

    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
