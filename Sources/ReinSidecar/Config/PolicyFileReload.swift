import Foundation
import Logging
import ReinAudit
import ReinCatalog
import ReinCrypto
import ReinPolicy
import ReinStore
import Synchronization

/// Reads `policy_file` again (SIGHUP) and, when it can be applied here, puts
/// it in force for the next call, as a central version is.
///
/// Why: a sidecar without a collector takes its allowlist from a file (a
/// Kubernetes ConfigMap, say). Changing it must not need a restart, which
/// would cut the agent's calls in flight. Unlike a central version, a file
/// that cannot be applied changes nothing: whoever sent the signal is
/// watching the log, and the policy that worked stays in force.
///
/// Every change is a `policy-change` event in the sidecar's own chain
/// (`via: policy-file`), durable before the new policy decides any call, so
/// the trail shows which calls each version of the file decided.
public final class PolicyFileReload: @unchecked Sendable {
    // @unchecked: the one mutable property, `timer`, is only touched inside
    // `timerLock`; everything else is immutable or a Mutex.
    /// What ``reload()`` did.
    public enum Outcome: Sendable, Equatable {
        /// The file's content is in force now.
        case applied(sha256: String)
        /// The file is what is in force already.
        case unchanged
        /// Nothing changed, for this reason.
        case refused(String)
    }

    let path: String
    private let live: LivePolicy
    private let catalog: ServiceCatalog
    private let spool: AuditSpool
    private let sidecarId: String
    private let rescope: (@Sendable (PolicyDocument, String) -> Void)?
    private let logger: Logger
    /// The SHA-256 of the text in force; held while a reload runs, so that two signals apply in turn.
    private let current: Mutex<String>
    /// The file as last read (``reloadIfChanged()`` reads it again only when this changes).
    private let seen: Mutex<FileStamp?>
    private let timerLock = Mutex(())
    private var timer: (any DispatchSourceTimer)?
    /// For /metrics: reloads applied since start, and whether the file as
    /// last read was refused (what is on disk is not what is in force).
    private let counts = Mutex<(applied: Int, refusedNow: Bool)>((0, false))

    /// Reloads applied since start (`rein_policy_file_reloads_applied`).
    public var appliedCount: Int { counts.withLock { $0.applied } }
    /// True while the file on disk is one that was refused
    /// (`rein_policy_file_refused`): alert on it, the change did not apply.
    public var isRefusedNow: Bool { counts.withLock { $0.refusedNow } }

    init(path: String, initialText: String, live: LivePolicy, catalog: ServiceCatalog, spool: AuditSpool, sidecarId: String,
         rescope: (@Sendable (PolicyDocument, String) -> Void)?, logger: Logger) {
        self.path = path
        self.live = live
        self.catalog = catalog
        self.spool = spool
        self.sidecarId = sidecarId
        self.rescope = rescope
        self.logger = logger
        current = Mutex(SHA256.hash(initialText).hex)
        seen = Mutex(FileStamp(path: path))
    }

    /// Checks the file every `interval` (``reloadIfChanged()``), off the
    /// event loops, until ``stopWatching()``.
    public func watch(every interval: Duration) {
        let millis = max(1, Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000))
        let source = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        source.schedule(deadline: .now() + .milliseconds(millis), repeating: .milliseconds(millis))
        source.setEventHandler { [weak self] in self?.reloadIfChanged() }
        timerLock.withLock { _ in
            timer?.cancel()
            timer = source
        }
        source.resume()
    }

    public func stopWatching() {
        timerLock.withLock { _ in
            timer?.cancel()
            timer = nil
        }
    }

    /// Reloads when the file changed since it was last read (the periodic
    /// check: `policy_reload_interval`); nil when it did not. A file that
    /// cannot apply is said once, not at every check, and tried again when
    /// it changes once more.
    @discardableResult
    public func reloadIfChanged() -> Outcome? {
        let stamp = FileStamp(path: path)
        let changed = seen.withLock { last -> Bool in
            guard stamp != last else { return false }
            last = stamp
            return true
        }
        return changed ? reload() : nil
    }

    @discardableResult
    public func reload() -> Outcome {
        let stamp = FileStamp(path: path)
        seen.withLock { $0 = stamp }
        return current.withLock { inForce in
            let outcome = apply(inForce: &inForce)
            counts.withLock { c in
                switch outcome {
                case .applied: c = (c.applied + 1, false)
                case .unchanged: c.refusedNow = false
                case .refused: c.refusedNow = true
                }
            }
            switch outcome {
            case .applied(let sha):
                logger.notice("policy_file reloaded: the new policy decides every call from now on",
                              metadata: ["policy.path": "\(path)", "policy.sha256": "\(sha)"])
            case .unchanged:
                logger.info("policy_file read again: unchanged", metadata: ["policy.path": "\(path)"])
            case .refused(let reason):
                logger.error("policy_file not reloaded, the policy in force stays: \(reason)", metadata: ["policy.path": "\(path)"])
            }
            return outcome
        }
    }

    private func apply(inForce: inout String) -> Outcome {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            return .refused("cannot read it: \(error.localizedDescription)")
        }
        let sha = SHA256.hash(text).hex
        guard sha != inForce else { return .unchanged }
        let document = live.current.document
        let accepted: PolicyCheck.Accepted
        switch PolicyCheck.check(text, agentId: document.agent.id, catalog: catalog, now: Int64(Date().timeIntervalSince1970)) {
        case .failure(let refusal): return .refused(refusal.reason)
        case .success(let a): accepted = a
        }
        var event = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(Date()), sidecarId: sidecarId,
                                via: AuditRecord.policyFileVia, decision: "allow")
        event.event = "policy-change"
        // The actor is the configuration, not the agent (exports say so: AuditExport.isReinOwnEvent).
        event.accessKeyId = "policy-file"
        event.service = "rein-sidecar"
        event.agentId = accepted.document.agent.id
        event.taskId = accepted.document.task.id
        event.operation = "ReloadPolicyFile"
        event.reason = "policy_file \(path) reloaded (sha256 \(sha), was \(inForce)): task \(accepted.document.task.id), "
            + "\(accepted.document.statements.count) statement(s)"
            + (accepted.windowProblems.isEmpty ? "" : "; its task window denies every call now")
        do { _ = try spool.append(event) } catch {
            return .refused("the change could not be recorded in the audit spool (\(error)), and nothing is applied unrecorded")
        }
        live.replace(with: accepted.document)
        rescope?(accepted.document, "file sha256 \(sha.prefix(12))")
        inForce = sha
        return .applied(sha256: sha)
    }
}
