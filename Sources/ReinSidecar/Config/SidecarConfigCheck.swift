import Foundation
import ReinBroker
import ReinCatalog
import ReinCollectorClient
import ReinPolicy
import ReinServiceKit
import ReinStore
import Yams

/// What `rein sidecar check-config` checks: what a start would refuse,
/// short of binding ports or calling AWS and the collector.
///
/// Why: the policy file is read again on SIGHUP, and a file that cannot
/// apply is only logged; a configuration change reaches a sidecar at its
/// next start. Checking first (in CI, before `kill -HUP`, before a rollout)
/// says what is wrong where the operator is looking.
public enum SidecarConfigCheck {
    public struct Summary: Sendable {
        /// What the configuration sets, one fact per line.
        public var lines: [String] = []
        /// What works but is likely not what was meant.
        public var warnings: [String] = []
    }

    /// - Parameter sysfsRoot: where the CPU idle settings are read (``CPUIdleProbe``); tests point it elsewhere.
    public static func run(_ config: SidecarConfiguration, now: Date = Date(), sysfsRoot: String = "/sys") throws(SidecarStartError) -> Summary {
        var summary = Summary()
        summary.lines.append("sidecar    \(config.sidecarId), mode \(config.mode.rawValue)")
        summary.lines.append("listen     agent \(config.listen), admin \(config.adminListen), credentials "
                             + (config.credentialsListen.map { "\($0)" } ?? "off"))
        try checkPolicy(config, now: now, into: &summary)
        let brokerText = config.brokerYAML ?? "provider: static\n"
        do {
            let broker = try YAMLDecoder().decode(BrokerConfiguration.self, from: brokerText)
            try broker.validate()
            summary.lines.append("broker     \(broker.provider.rawValue)" + (broker.roleArn.map { " (\($0))" } ?? ""))
            if broker.provider == .static {
                summary.warnings.append("broker.provider static: long-lived keys from the environment; production sidecars use assume_role, web_identity, container or imds")
            }
        } catch {
            throw SidecarStartError("configuration: broker: \(error)")
        }
        if config.collector.isEnabled, let url = config.collector.url {
            guard let tokenFile = config.collector.tokenFile else {
                throw SidecarStartError("collector.token_file is not set: the sidecar authenticates to the collector with a bearer token from a file")
            }
            do { _ = try CollectorClient(baseURL: url, tokenFile: tokenFile, caBundlePath: config.collector.caFile) } catch {
                throw SidecarStartError("collector: \(error)")
            }
            summary.lines.append("collector  \(url) (token file \(tokenFile); not contacted by this check)")
        } else {
            summary.lines.append("collector  none: the audit trail stays in the local spool")
        }
        summary.lines.append("audit      \(config.resolvedAuditSpoolPath), at most \(config.auditSpoolMaxBytes) bytes, "
                             + (config.auditFsync ? "fsync before each answer" : "no fsync")
                             + (config.auditDropWhenFull ? ", DROPS records when full" : ", refuses calls when full"))
        summary.lines.append("audit copy " + (config.auditJSONLMaxBytes > 0
            ? "\(config.auditMirrorPath), at most \(config.auditJSONLMaxBytes) bytes (then moved to audit.jsonl.1)" : "off"))
        summary.warnings += storageWarnings(config)
        if !config.auditFsync { summary.warnings.append("audit.fsync is false: a power loss can lose records of calls already answered") }
        if config.auditDropWhenFull { summary.warnings.append("audit.drop_when_full is set: a full spool loses records instead of refusing calls") }
        if !config.staticAgentKeys.isEmpty { summary.warnings.append("agent_credentials.static is set: for tests only") }
        if config.cpuLatencyQoS {
            summary.lines.append("cpu        cpu_latency_qos: idle CPUs poll while calls arrive (\(CPULatencyHold.devicePath), machine-wide)")
        } else if config.auditFsync, CPUIdleProbe.haltsAtOnce(sysfsRoot: sysfsRoot) {
            summary.lines.append("cpu        idle vCPUs halt at once here (cpuidle haltpoll, guest_halt_poll_ns 0): every durable audit write "
                                 + "waits for their wake-ups; cpu_latency_qos: true makes them poll while calls arrive "
                                 + "(15–20% less audit cost where measured; machine-wide, needs \(CPULatencyHold.devicePath))")
        }
        return summary
    }

    /// What the disk under the audit files may do to the sidecar: a network
    /// file system (``NetworkFileSystem``), or too little room for the caps.
    /// Said at start and by check-config.
    static func storageWarnings(_ config: SidecarConfiguration) -> [String] {
        [NetworkFileSystem.warning(for: config.resolvedAuditSpoolPath, role: "the audit spool"), diskRoomWarning(config)].compactMap { $0 }
    }

    /// Whether the disk under the audit files has room for their caps: the
    /// spool's and twice the readable copy's (it keeps one previous file).
    ///
    /// Why: a disk that fills before the spool reaches its cap stops the
    /// sidecar the hard way. Every call is refused, and a restart with a
    /// previous run's intents to seal exits until someone frees space,
    /// where a full spool refuses calls only until the collector catches up.
    /// Counted against what the files already hold; nil when there is room
    /// or the disk cannot be asked. A warning, not a refusal: the volume
    /// may grow, and the caps are upper bounds.
    static func diskRoomWarning(_ config: SidecarConfiguration) -> String? {
        let spool = config.resolvedAuditSpoolPath
        guard let free = FileSystemSpace.available(under: spool) else { return nil }
        let files = [spool, spool + "-wal", config.auditMirrorPath, config.auditMirrorPath + ".1"]
        let held = files.reduce(Int64(0)) { $0 + SQLiteBackup.fileSize($1) }
        let caps = config.auditSpoolMaxBytes + 2 * config.auditJSONLMaxBytes
        guard free + held < caps else { return nil }
        return "the disk under \((spool as NSString).deletingLastPathComponent) has \(free) bytes free, less than "
            + "audit.spool_max_bytes and twice audit.jsonl_max_bytes need (\(caps - held) more): a full disk stops every call "
            + "before the spool's cap does; lower the caps or give the state directory more room"
    }

    /// The policy a start would enforce: `policy_file`, checked as SIGHUP
    /// would check it; with a collector and no file, the central version
    /// (not fetched here).
    private static func checkPolicy(_ config: SidecarConfiguration, now: Date, into summary: inout Summary) throws(SidecarStartError) {
        guard let file = config.policyFile else {
            guard config.collector.isEnabled, let agent = config.collector.agentId else {
                throw SidecarStartError("no task policy: set policy_file (--policy, REIN_POLICY_FILE), or collector.url with collector.agent_id to fetch it centrally")
            }
            summary.lines.append("policy     the collector's for agent \(agent) (not fetched by this check)")
            return
        }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw SidecarStartError("cannot read the policy file \(file): \(error.localizedDescription)")
        }
        let catalog: ServiceCatalog
        do { catalog = try ServiceCatalog.bundled() } catch { throw SidecarStartError("the AWS catalog does not load: \(error)") }
        let agent = config.collector.agentId ?? PolicyLoader.load(text).document?.agent.id ?? ""
        switch PolicyCheck.check(text, agentId: agent, catalog: catalog, now: Int64(now.timeIntervalSince1970)) {
        case .failure(let refusal):
            throw SidecarStartError("the policy file \(file) cannot be applied: \(refusal.reason)")
        case .success(let accepted):
            let d = accepted.document
            summary.lines.append("policy     \(file): agent \(d.agent.id), task \(d.task.id), \(d.statements.count) statement(s)"
                                 + (d.task.notAfter.map { ", until \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval($0))))" } ?? ""))
            for problem in accepted.windowProblems { summary.warnings.append("the task window denies every call now: \(problem)") }
        }
    }
}
