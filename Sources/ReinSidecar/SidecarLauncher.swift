import Foundation
import Logging
import NIOCore
import NIOPosix
import ReinAudit
import ReinBroker
import ReinCatalog
import ReinCrypto
import ReinPolicy
import ReinSigV4
import ReinStore
import ReinTLS
import ReinUpstream
import Yams
import ReinServiceKit

/// Why the sidecar could not start, with what to fix.
public struct SidecarStartError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Adapts the broker's credential cache to the gate.
struct BrokerSourceAccess: BrokerCredentialAccess {
    let source: BrokerCredentialSource
    func currentBrokerCredentials() -> (credentials: AWSCredentials, source: String)? {
        source.current().map { ($0.credentials, $0.source) }
    }
}

/// Builds a sidecar from its configuration and starts it.
public enum SidecarLauncher {
    public static func launch(_ config: SidecarConfiguration, environment: [String: String], version: String = "dev",
                              logger: Logger) async throws -> RunningSidecar {
        try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // One sidecar per state directory, whatever audit.spool_path says:
        // its signing key, CA, agent token and credentials are here too.
        let stateLock: DatabaseLock
        do {
            stateLock = try DatabaseLock(lockPath: (config.stateDir as NSString).appendingPathComponent("sidecar.lock"),
                                         guarding: "the state directory \(config.stateDir)")
        } catch {
            throw SidecarStartError(error.description)
        }
        // The task policy: the file, or (with a collector) the last-known-good central copy.
        let initial = try CollectorLink.initialPolicy(config, logger: logger)
        let loaded = PolicyLoader.load(initial.text)
        guard let document = loaded.document else {
            throw SidecarStartError("the policy \(initial.origin) is invalid:\n" + loaded.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        if config.collector.isEnabled, let agent = config.collector.agentId, agent != document.agent.id {
            // Contradictory settings: which agent's calls these are must not be a guess.
            throw SidecarStartError("collector.agent_id is \(agent), but the policy \(initial.origin) is for agent \(document.agent.id): "
                                    + "set one agent (a host moving to another agent needs a new sidecar_id and state_dir)")
        }
        let live = LivePolicy(document)
        let metrics = SidecarMetrics()
        // The audit spool first: nothing is served without a trail.
        let cpuLatency = try holdCPULatency(config, logger: logger)
        let (spool, mirror) = try openAudit(config, cpuLatency: cpuLatency, logger: logger)

        // Agent credentials: issued, rotating; static keys only for tests.
        let staticKeys = config.staticAgentKeys.map { AWSCredentials(accessKeyId: $0.accessKeyId, secretAccessKey: $0.secretAccessKey, sessionToken: $0.sessionToken) }
        let issuer = AgentCredentialIssuer(ttl: config.agentCredentialTTL, staticKeys: staticKeys,
                                           notAfter: { live.current.document.task.notAfter },
                                           file: AgentCredentialFile(path: config.agentCredentialsPath), logger: logger)
        metrics.staticAgentKeys(!staticKeys.isEmpty)
        if !staticKeys.isEmpty {
            logger.warning("static agent keys are configured: for tests only; agents in production get rotating credentials from the credentials endpoint",
                           metadata: ["agent.static_keys": "\(staticKeys.count)"])
        }
        let token = try agentToken(path: config.resolvedAgentTokenFile)

        // Broker credentials.
        let brokerConfig: BrokerConfiguration
        do {
            brokerConfig = try YAMLDecoder().decode(BrokerConfiguration.self, from: config.brokerYAML ?? "provider: static\n")
        } catch {
            throw SidecarStartError("configuration: broker: \(error)")
        }
        let source: BrokerCredentialSource
        let stsHTTP = HTTPClient(caBundlePath: config.upstreamCABundle)
        do {
            source = try BrokerChainFactory.makeSource(
                brokerConfig, context: BrokerContext(policy: document), env: environment,
                http: stsHTTP, logger: Logger(label: "rein.broker"),
                onRefresh: { metrics.credentialRefresh(kind: "broker", success: $0.success) })
        } catch {
            throw SidecarStartError("configuration: broker: \(error)")
        }
        do {
            let first = try source.refreshNow()
            logger.info("broker credentials ready", metadata: ["broker.provider": "\(first.source)",
                                                               "broker.expiration": "\(first.expiration.map { "\($0)" } ?? "none")"])
        } catch {
            // Not fatal: the sidecar starts not-ready and keeps retrying; nothing is forwarded meanwhile.
            logger.error("broker credentials unavailable; not ready until a refresh succeeds", metadata: ["broker.error": "\(error)"])
        }
        source.start()

        // Upstream, audit, gate.
        let upstream = UpstreamEngine(
            configuration: UpstreamConfiguration(caBundlePath: config.upstreamCABundle, connectTimeout: .seconds(config.upstreamConnectTimeout),
                                                 idleTimeout: .seconds(config.upstreamIdleTimeout)),
            logger: Logger(label: "rein.upstream"))
        try upstream.start()
        let catalog = try ServiceCatalog.bundled()
        let resolver = try EndpointResolver.bundled()
        var variant: EndpointResolver.Variant = []
        if config.fips { variant.insert(.fips) }
        if config.dualstack { variant.insert(.dualstack) }
        let settings = RequestGate.Settings(mode: config.mode, upstreamEndpoint: config.upstreamEndpoint.flatMap(URL.init(string:)),
                                            variant: variant, maxInspectedBody: config.maxInspectedBody, accountId: config.accountId)
        let gate = RequestGate(settings: settings, credentials: issuer, clockSkew: config.clockSkew, catalog: catalog,
                               resolver: resolver, policy: live, broker: BrokerSourceAccess(source: source))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(4, System.coreCount)))
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let holds = try HoldsSetup.make(config, spool: spool, logger: logger)
        let services = SidecarServices(configuration: config, gate: gate, upstream: upstream, spool: spool, mirror: mirror, metrics: metrics,
                                       holds: holds.gate, logger: logger, blockingPool: pool)
        services.policyVersion = initial.version
        services.cpuLatency = cpuLatency
        services.holdsFault = holds.durabilityFault

        // Forward-proxy mode: the per-sidecar CA and SNI-minted leaves.
        let authority = try CertificateAuthority.loadOrCreate(directory: config.caDirectory)
        let leaves = LeafCertificateCache(authority: authority)
        let domains = config.interceptDomains
        let tls = try TLSServerContext(certificates: leaves, allowServerName: { ProxySupport.isIntercepted($0, domains: domains) })
        let proxy = ProxySupport(services: services, tls: tls)

        let readiness: @Sendable () -> [String] = {
            var problems: [String] = []
            if !source.isReady { problems.append("broker credentials unavailable: \(source.lastError.map { "\($0)" } ?? "not fetched yet")") }
            if let fault = spool.durabilityFault {
                problems.append("the audit spool cannot make writes durable: \(fault)")
            } else if !services.auditHealthy {
                problems.append("the audit trail cannot be written")
            }
            if let fault = services.holdsFault() {
                problems.append("the holds database refuses writes until the sidecar restarts (held calls are refused): \(fault)")
            }
            let spooled = spool.stats
            if spooled.diskFull {
                problems.append("the disk under the audit spool is full: calls are refused until space is freed there"
                    + (spooled.heldOutcomes > 0 ? " (\(spooled.heldOutcomes) forwarded call(s) wait to be recorded)" : ""))
            }
            if spooled.full, !config.auditDropWhenFull {
                problems.append("the audit spool is full (\(spooled.bytes) of \(spooled.maxBytes) bytes): waiting for the collector to acknowledge records")
            }
            let policy = live.current
            if let refusal = policy.refusal { problems.append(refusal) }
            let now = Int64(Date().timeIntervalSince1970)
            if let notAfter = policy.document.task.notAfter, notAfter <= now {
                problems.append("the task policy expired")
            }
            if let notBefore = policy.document.task.notBefore, now < notBefore {
                problems.append("the task policy does not start until \(AuditRecord.timestamp(Date(timeIntervalSince1970: Double(notBefore))))")
            }
            return problems
        }
        let sidecar = Sidecar(services: services, group: group,
                              credentialsEndpoint: AgentCredentialsEndpoint(issuer: issuer, token: token, metrics: metrics),
                              proxy: proxy, readiness: readiness, holdsAPI: holds.api)
        let (bound, channels) = try await sidecar.start()
        logger.info("rein sidecar listening", metadata: [
            "listen.agent": "\(bound.agent)", "listen.admin": "\(bound.admin)",
            "listen.credentials": "\(bound.credentials.map { "\($0)" } ?? "off")",
            "policy.agent": "\(document.agent.id)", "policy.task": "\(document.task.id)", "mode": "\(config.mode.rawValue)",
            "upstream": "\(config.upstreamEndpoint ?? "AWS endpoints")",
        ])
        // The collector: ship the trail, register the checkpoint key, heartbeat, fetch the policy.
        let rescope = brokerRescope(brokerConfig, source: source, env: environment, http: stsHTTP, logger: logger)
        let link = config.collector.isEnabled
            ? try CollectorLink.start(config: config, services: services, live: live, catalog: catalog, version: version,
                                      rescope: rescope, readiness: readiness, logger: logger)
            : nil
        // Without a collector, policy_file is the policy, and SIGHUP reads it again.
        let policyReload = config.collector.isEnabled ? nil : config.policyFile.map {
            PolicyFileReload(path: $0, initialText: initial.text, live: live, catalog: catalog, spool: spool, sidecarId: config.sidecarId,
                             rescope: rescope, logger: logger)
        }
        if let policyReload, let interval = config.policyReloadInterval { policyReload.watch(every: interval) }
        services.policyReload = policyReload
        return RunningSidecar(sidecar: sidecar, channels: channels, bound: bound, broker: source, link: link,
                              tokenFile: absolute(config.resolvedAgentTokenFile), caFile: absolute(authority.certificatePath),
                              stopHolds: holds.stop, cpuLatency: cpuLatency, policyReload: policyReload, stateLock: stateLock)
    }

    /// Opens the audit spool with the sidecar's checkpoint key, and the
    /// readable JSONL copy it feeds.
    static func openAudit(_ config: SidecarConfiguration, cpuLatency: CPULatencyHold?, logger: Logger) throws -> (AuditSpool, AuditMirror?) {
        let keyExisted = FileManager.default.fileExists(atPath: config.auditSigningKeyPath)
        let spoolExisted = FileManager.default.fileExists(atPath: config.resolvedAuditSpoolPath)
        let key = try AuditSigningKey.loadOrCreate(path: config.auditSigningKeyPath)
        let mirror = config.auditJSONLMaxBytes > 0
            ? try AuditMirror(path: config.auditMirrorPath, maxBytes: config.auditJSONLMaxBytes, logger: logger) : nil
        let spool: AuditSpool
        let busy: (@Sendable () -> Void)? = cpuLatency.map { hold in { @Sendable in hold.noteBusy() } }
        do {
            spool = try AuditSpool(
                configuration: AuditSpoolConfiguration(
                    path: config.resolvedAuditSpoolPath, sidecarId: config.sidecarId, signingKey: key, fullSync: config.auditFsync,
                    maxBytes: config.auditSpoolMaxBytes, dropWhenFull: config.auditDropWhenFull,
                    checkpointEveryRecords: config.auditCheckpointEveryRecords, checkpointInterval: config.auditCheckpointInterval,
                    onBusy: busy),
                logger: logger, onDurable: { mirror?.append($0) })
        } catch {
            throw SidecarStartError("audit: \(error)")
        }
        let stats = spool.stats
        logger.info("audit spool open", metadata: [
            "audit.spool": "\(spool.path)", "audit.public_key": "\(spool.publicKey)", "audit.sidecar_id": "\(spool.sidecarId)",
            "audit.records": "\(stats.records)", "audit.bytes": "\(stats.bytes)", "audit.max_bytes": "\(stats.maxBytes)",
            "audit.last_sequence": "\(stats.lastSequence)", "audit.recovered_intents": "\(spool.recoveredIntents)",
        ])
        if keyExisted, !spoolExisted {
            // The key says this sidecar ran before; its chain now starts again at 1.
            logger.warning("""
                the audit spool is new but the signing key is not: this sidecar's chain starts again at sequence 1, \
                and the collector will flag the restart (out-of-order findings) if it holds the old chain. \
                If the spool was lost, that is the record of it; for a fresh start, give the sidecar a new sidecar_id
                """,
                           metadata: ["audit.spool": "\(spool.path)", "audit.sidecar_id": "\(spool.sidecarId)"])
        }
        if config.auditDropWhenFull {
            logger.warning("audit.drop_when_full is set: when the spool is full, records are dropped instead of refusing requests")
        }
        for warning in SidecarConfigCheck.storageWarnings(config) { logger.warning("\(warning)") }
        return (spool, mirror)
    }

    /// What a newly applied policy version does to the broker: a chain whose
    /// credentials carry the task (``BrokerChainFactory/isTaskScoped(_:)``) is
    /// built again for the new document and fetched with at once, so that
    /// AWS's session policy follows the central allowlist without a restart.
    static func brokerRescope(_ brokerConfig: BrokerConfiguration, source: BrokerCredentialSource, env: [String: String],
                              http: HTTPClient, logger: Logger) -> (@Sendable (PolicyDocument, String) -> Void)? {
        guard BrokerChainFactory.isTaskScoped(brokerConfig) else { return nil }
        return { document, version in
            do {
                source.rescope(with: try BrokerChainFactory.make(brokerConfig, context: BrokerContext(policy: document), env: env, http: http))
                logger.info("policy version applied: fetching broker credentials scoped to it", metadata: [
                    "policy.version": "\(version)", "broker.provider": "\(brokerConfig.provider.rawValue)",
                ])
            } catch {
                // The chain was built from this configuration at start, so this is not expected.
                logger.error("""
                    policy version applied, but the broker could not be scoped to it: its credentials keep the previous \
                    version's session policy until a restart
                    """, metadata: ["policy.version": "\(version)", "error": "\(error)"])
            }
        }
    }

    /// The CPU latency request (`cpu_latency_qos`), made now so that a
    /// device the sidecar cannot write stops the start with the reason.
    static func holdCPULatency(_ config: SidecarConfiguration, logger: Logger) throws -> CPULatencyHold? {
        guard config.cpuLatencyQoS else { return nil }
        let hold: CPULatencyHold
        do { hold = try CPULatencyHold(logger: logger) } catch { throw SidecarStartError("cpu_latency_qos: \(error)") }
        logger.notice("cpu_latency_qos is set: while calls arrive, idle CPUs poll instead of halting (machine-wide; released after \(hold.linger) idle)",
                      metadata: ["cpu_latency.device": "\(hold.path)"])
        return hold
    }

    /// The token agents present to the credentials endpoint: read from its
    /// file, or generated (mode 0600) on first start.
    static func agentToken(path: String) throws -> String {
        let existing: [UInt8]?
        // Group-readable is fine: the agent's container reads this file too.
        do { existing = try SecretFile.read(path, group: .allowed) } catch { throw SidecarStartError("the agent token: \(error)") }
        if let existing {
            let token = String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.count >= 32 else { throw SidecarStartError("the agent token in \(path) is shorter than 32 characters") }
            return token
        }
        let token = Hex.encode(CryptoLibrary.randomBytes(count: 32))
        guard FileManager.default.createFile(atPath: path, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SidecarStartError("cannot write the agent token to \(path)")
        }
        return token
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// A started sidecar, with what an agent needs to use it.
public final class RunningSidecar: Sendable {
    let sidecar: Sidecar
    let channels: [any Channel]
    public let bound: Sidecar.Bound
    let broker: BrokerCredentialSource
    /// The shipper and policy fetcher, when a collector is configured.
    public let link: CollectorLink?
    public let tokenFile: String
    public let caFile: String
    /// The spool, metrics and configuration (the shipper is wired to `services.spool`).
    public var services: SidecarServices { sidecar.services }

    let stopHolds: @Sendable () -> Void
    /// The CPU latency request, when `cpu_latency_qos` is set.
    public let cpuLatency: CPULatencyHold?
    /// Reads `policy_file` again (SIGHUP); nil with a collector, whose versions are the policy.
    public let policyReload: PolicyFileReload?
    /// Held from start to shutdown: one sidecar per state directory.
    let stateLock: DatabaseLock

    init(sidecar: Sidecar, channels: [any Channel], bound: Sidecar.Bound, broker: BrokerCredentialSource, link: CollectorLink?,
         tokenFile: String, caFile: String, stopHolds: @escaping @Sendable () -> Void, cpuLatency: CPULatencyHold?,
         policyReload: PolicyFileReload?, stateLock: DatabaseLock) {
        self.stateLock = stateLock
        self.policyReload = policyReload
        self.stopHolds = stopHolds
        self.cpuLatency = cpuLatency
        self.sidecar = sidecar
        self.channels = channels
        self.bound = bound
        self.broker = broker
        self.link = link
        self.tokenFile = tokenFile
        self.caFile = caFile
    }

    private func url(_ address: SocketAddress) -> String {
        let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "127.0.0.1"
        return "http://\(host):\(address.port ?? 0)"
    }

    /// The environment an agent sets (endpoint mode; no secrets: the token is read from its file).
    public var agentEnvironment: [(String, String)] {
        var env = [("AWS_ENDPOINT_URL", url(bound.agent))]
        if let c = bound.credentials {
            env.append(("AWS_CONTAINER_CREDENTIALS_FULL_URI", url(c) + "/v1/credentials"))
            env.append(("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile))
        }
        return env
    }

    /// The forward-proxy alternative to `AWS_ENDPOINT_URL`.
    public var proxyEnvironment: [(String, String)] {
        [("HTTPS_PROXY", url(bound.agent)), ("AWS_CA_BUNDLE", caFile)]
    }

    /// Returns on SIGTERM or SIGINT.
    public func waitForShutdownSignal() async {
        await ShutdownSignal.wait()
    }

    /// Stops listening, ends transfers, closes the audit spool.
    public func shutdown() async {
        policyReload?.stopWatching()
        broker.stop()
        await sidecar.shutdown(channels: channels, beforeSpoolCloses: { [link, stopHolds] in
            stopHolds()
            link?.stop()
        })
        cpuLatency?.close()
        stateLock.release()
    }
}
