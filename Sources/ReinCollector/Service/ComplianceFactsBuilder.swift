import Foundation
import ReinCompliance
import ReinPolicy
import ReinStore

/// Turns what the store holds for a period and scope into the facts a
/// framework report judges: signals with counts and samples, and findings
/// (wildcard or escalating allowlists, silent sidecars, broken chains,
/// approvals by the wrong party, long-lived keys) with who, where and what
/// to do.
///
/// Why "now" matters only for silence: every other fact comes from the
/// period's data, so the same data and period give the same facts; a
/// sidecar is silent when it was last seen `silentAfter` before the end of
/// the period (or before now, for a period that has not ended).
struct ComplianceFactsBuilder {
    let data: ComplianceData
    let query: ComplianceData.Query
    /// Approver token name → the agents it owns (collector configuration).
    let owners: [String: Set<String>]
    let silentAfterMs: Int64
    let nowMs: Int64
    let policyGate: PolicyGate

    static let wildcardRules: Set<String> = ["REIN-L001", "REIN-L002", "REIN-L004"]
    static let escalationRules: Set<String> = ["REIN-L008"]
    static let expiryRules: Set<String> = ["REIN-L011"]
    static let temporaryKeyKind = "ASIA"

    func build() -> ComplianceFacts {
        var findings: [ComplianceFinding] = []
        let rows = data.rollup
        let calls = rows.filter { $0.event == "call" }
        let callCount = calls.reduce(0) { $0 + $1.count }
        func sum(_ rs: [ComplianceData.RollupRow]) -> Int64 { rs.reduce(0) { $0 + $1.count } }
        func samples(_ kind: String) -> [String] { data.samples[kind] ?? [] }

        // Policies in force and their lint.
        var linted = 0, lintClean = 0
        var owners = self.owners.reduce(into: [String: Set<String>]()) { acc, e in for agent in e.value { acc[agent, default: []].insert(e.key) } }
        for policy in data.policies {
            guard let (document, lint) = policyGate.lint(policy.document, now: query.until / 1000) else { continue }
            linted += 1
            owners[policy.agentId, default: []].insert(document.agent.owner)
            if !lint.contains(where: { $0.severity == .error }) { lintClean += 1 }
            let task = document.task.id
            func add(_ kind: ComplianceFindingKind, _ rules: Set<String>) {
                let hits = lint.filter { rules.contains($0.rule) }
                guard let first = hits.first else { return }
                let where_ = first.statementId.map { " (statement \($0))" } ?? ""
                findings.append(ComplianceFinding(
                    kind: kind, agentId: policy.agentId, taskId: task, policyVersion: String(policy.version),
                    detail: "\(first.title)\(where_): \(first.message)" + (hits.count > 1 ? " (and \(hits.count - 1) more)" : ""),
                    remediation: first.remediation))
            }
            add(.wildcardGrant, Self.wildcardRules)
            add(.privilegeEscalation, Self.escalationRules)
            add(.noExpiry, Self.expiryRules)
        }

        // Agents in scope: with calls, a policy or a sidecar.
        var agentSet = Set(rows.map(\.agentId).filter { !$0.isEmpty })
        agentSet.formUnion(data.policies.map(\.agentId))
        agentSet.formUnion(data.sidecars.compactMap(\.agentId))
        if let a = query.agentId { agentSet = agentSet.filter { $0 == a } }
        let agents = agentSet.sorted()

        // Fleet.
        let reference = min(query.until, nowMs)
        let registered = data.sidecars.filter { $0.publicKey != nil }
        var reporting: Set<String> = []
        // A sidecar that ended by the reference time (stopped with everything
        // shipped, or retired) owes no reports; an agent whose sidecars all
        // ended is not running under Rein, not missing from it.
        let ended = data.sidecars.filter { $0.end.map { $0.atMs <= reference } ?? false }
        let endedIds = Set(ended.map(\.sidecarId))
        let live = data.sidecars.filter { !endedIds.contains($0.sidecarId) }
        let liveAgents = Set(live.compactMap(\.agentId))
        let endedAgents = Set(ended.compactMap(\.agentId).filter { !liveAgents.contains($0) && agentSet.contains($0) })
        for s in live {
            if let seen = s.lastSeen, seen >= reference - silentAfterMs {
                if let a = s.agentId { reporting.insert(a) }
            } else {
                let when = s.lastSeen.map { "last seen \(ReportTime.rfc3339($0))" } ?? "never seen"
                findings.append(ComplianceFinding(
                    kind: .silentSidecar, agentId: s.agentId, taskId: s.taskId, sidecarId: s.sidecarId,
                    detail: "sidecar \(s.sidecarId) is silent: \(when), no report for more than \(silentAfterMs / 1000) s (fleet.silent_after) by the end of the period",
                    remediation: "Check the sidecar's pod and its link to the collector; until it reports, its agent's calls are not evidenced here."))
            }
        }
        // A retirement ends a sidecar's silence, not the gap its unshipped
        // records leave: those calls stay unevidenced, now on the record.
        for s in ended where s.end?.kind == .retired {
            guard let end = s.end, end.atMs >= query.since, (s.lastSeen ?? 0) <= query.until else { continue }
            let unshipped = max(s.spoolDepth ?? 0, (s.reportedSequence ?? 0) - s.storedSequence)
            guard unshipped > 0 else { continue }
            findings.append(ComplianceFinding(
                kind: .unshippedRecords, agentId: s.agentId, taskId: s.taskId, sidecarId: s.sidecarId,
                detail: "sidecar \(s.sidecarId) was retired by \(end.by ?? "an admin") at \(ReportTime.rfc3339(end.atMs)) with \(unshipped) audit "
                    + "record(s) the collector never received (its last report: \(s.lastSeen.map(ReportTime.rfc3339) ?? "none")); "
                    + "the calls they record are not evidenced here. Reason given: \(end.reason ?? "-")",
                remediation: "If the sidecar's state_dir still exists, start a sidecar on it with the same sidecar_id to ship them; otherwise keep the retirement's reason with the evidence."))
        }
        let withSidecar = Set(data.sidecars.compactMap(\.agentId))
        for agent in agents where !withSidecar.contains(agent) {
            findings.append(ComplianceFinding(
                kind: .agentWithoutSidecar, agentId: agent,
                detail: "agent \(agent) has \(data.policies.contains { $0.agentId == agent } ? "a central allowlist" : "records") but no registered sidecar",
                remediation: "Deploy a Rein sidecar next to this agent (or retire its allowlist), so that every call it makes is governed and recorded."))
        }

        // Integrity.
        for stored in data.findings {
            let f = stored.finding
            findings.append(ComplianceFinding(
                kind: .integrityFinding, sidecarId: f.sidecarId, recordId: f.recordId,
                detail: "\(f.kind.rawValue) at sequence \(f.sequence.map(String.init) ?? "-"): \(f.detail)",
                remediation: "Investigate the sidecar host and its spool; re-verify the range with `rein audit verify --sidecar \(f.sidecarId)` and keep the evidence."))
        }
        let records = sum(rows)
        let integrity: IntegrityState
        if !data.findings.isEmpty {
            let sidecars = Set(data.findings.map(\.finding.sidecarId)).sorted()
            integrity = IntegrityState(state: .broken, findings: data.findings.count, checkpoints: data.checkpoints, sidecars: data.sidecars.count,
                                       detail: "Integrity findings on \(sidecars.joined(separator: ", ")): records from these chains may have been altered, removed or reordered.")
        } else if records == 0 {
            integrity = IntegrityState(state: .noData, findings: 0, checkpoints: data.checkpoints, sidecars: data.sidecars.count, detail: "no records")
        } else if data.checkpoints == 0 {
            integrity = IntegrityState(state: .unverified, findings: 0, checkpoints: 0, sidecars: data.sidecars.count,
                                       detail: "records are hash-chained but no signed checkpoint has arrived yet")
        } else {
            integrity = IntegrityState(state: .verified, findings: 0, checkpoints: data.checkpoints, sidecars: data.sidecars.count,
                                       detail: "hash chains continuous and checkpoints signed by the registered keys")
        }

        // Hold decisions by the wrong party.
        let decided = data.holdDecisions.filter { $0.approver != nil && ($0.event == "hold-approved" || $0.event == "hold-denied") }
        for d in data.holdDecisions where d.event == "hold-approved" {
            guard let approver = d.approver, let agent = d.agentId, owners[agent]?.contains(approver) == true else { continue }
            findings.append(ComplianceFinding(
                kind: .wrongPartyApproval, agentId: agent, taskId: d.taskId, sidecarId: d.sidecarId, recordId: d.recordId, holdId: d.holdId,
                detail: "hold \(d.holdId ?? "?") was approved by \(approver), who owns agent \(agent)",
                remediation: "Approvals must come from someone independent of the agent: keep holds.allow_owner_approval off and review what this approval let through."))
        }

        // Credentials.
        let keyed = calls.filter { !$0.keyKind.isEmpty }
        for agent in Set(keyed.filter { $0.keyKind != Self.temporaryKeyKind }.map(\.agentId)).sorted() {
            let n = sum(keyed.filter { $0.agentId == agent && $0.keyKind != Self.temporaryKeyKind })
            findings.append(ComplianceFinding(
                kind: .longLivedAgentKey, agentId: agent.isEmpty ? nil : agent,
                detail: "\(n) call(s) signed with a long-term key (not an ASIA session key)",
                remediation: "Give the agent only the sidecar's credentials endpoint; remove static agent keys (agent_credentials.static is for tests)."))
        }
        let forwarded = calls.filter(\.forwarded)
        for agent in Set(forwarded.filter { $0.broker == "static" }.map(\.agentId)).sorted() {
            let n = sum(forwarded.filter { $0.agentId == agent && $0.broker == "static" })
            findings.append(ComplianceFinding(
                kind: .staticBrokerCredentials, agentId: agent.isEmpty ? nil : agent,
                detail: "\(n) forwarded call(s) re-signed with static broker keys",
                remediation: "Use a short-lived broker (broker.provider: assume_role, web_identity, container or imds) instead of static keys."))
        }

        // Signals.
        let attributed = sum(calls.filter { !$0.agentId.isEmpty && !$0.taskId.isEmpty && !$0.keyKind.isEmpty })
        let denied = sum(calls.filter { $0.decision == "deny" })
        let holdRows = rows.filter { $0.event == "hold-created" || $0.decision.hasPrefix("hold") }
        let brokered = sum(forwarded.filter { !$0.broker.isEmpty && $0.broker != "static" })
        let temporary = sum(keyed.filter { $0.keyKind == Self.temporaryKeyKind })
        let wrongParty = findings.contains { $0.kind == .wrongPartyApproval }
        let silentOrMissing = findings.contains { [.silentSidecar, .agentWithoutSidecar, .unshippedRecords].contains($0.kind) }
        let signals: [SignalFact] = [
            SignalFact(signal: .callsAttributed, present: callCount > 0 && attributed == callCount, count: attributed, samples: samples("call"),
                       detail: "\(attributed) of \(callCount) calls carry agent, task and session key"),
            SignalFact(signal: .decisionsRecorded, present: callCount > 0, count: callCount, samples: samples("call"),
                       detail: "\(callCount) calls with a recorded decision"),
            SignalFact(signal: .denialsEnforced, present: denied > 0, count: denied, samples: samples("deny"),
                       detail: "\(denied) out-of-scope calls denied"),
            SignalFact(signal: .holdsRaised, present: !holdRows.isEmpty, count: sum(holdRows), samples: samples("hold"),
                       detail: "\(sum(holdRows)) hold records (created, decided, held calls)"),
            SignalFact(signal: .holdsDecided, present: !decided.isEmpty && !wrongParty, count: Int64(decided.count),
                       samples: Array(decided.prefix(3).map(\.recordId)),
                       detail: "\(decided.count) hold decisions by named approvers" + (wrongParty ? "; at least one by the wrong party" : "")),
            SignalFact(signal: .policyVersions, present: !data.policies.isEmpty, count: Int64(data.policies.count) + data.policyVersionsInPeriod,
                       samples: samples("policy-change"),
                       detail: "\(data.policies.count) agents with a central allowlist; \(data.policyVersionsInPeriod) versions stored in the period"),
            SignalFact(signal: .policyLinted, present: linted > 0 && lintClean == linted, count: Int64(lintClean),
                       detail: "\(lintClean) of \(linted) allowlists in force pass lint without errors"),
            SignalFact(signal: .credentialsBrokered, present: !forwarded.isEmpty && brokered == sum(forwarded), count: brokered,
                       samples: samples("forwarded"),
                       detail: "\(brokered) of \(sum(forwarded)) forwarded calls re-signed with short-lived broker credentials"),
            SignalFact(signal: .agentKeysTemporary, present: !keyed.isEmpty && temporary == sum(keyed), count: temporary,
                       detail: "\(temporary) of \(sum(keyed)) calls signed with sidecar-issued session keys"),
            SignalFact(signal: .callTiming, present: callCount > 0, count: callCount, samples: samples("call"),
                       detail: "\(callCount) calls with timestamps and per-phase latency"),
            SignalFact(signal: .fleetInventory, present: !registered.isEmpty, count: Int64(registered.count),
                       detail: "\(registered.count) registered sidecars for \(Set(registered.compactMap(\.agentId)).count) agents"),
            SignalFact(signal: .fleetReporting,
                       present: !agents.isEmpty && !silentOrMissing && agents.allSatisfy { reporting.contains($0) || endedAgents.contains($0) },
                       count: Int64(reporting.count),
                       detail: "\(reporting.count) of \(agents.count) agents have a sidecar reporting"
                           + (endedAgents.isEmpty ? "" : "; \(endedAgents.count) whose sidecars all stopped or were retired")),
            SignalFact(signal: .resourcesRecorded, present: callCount > 0, count: callCount, samples: samples("call"),
                       detail: "\(callCount) calls naming service, region, actions and resources"),
            SignalFact(signal: .chainVerified, present: integrity.state == .verified, count: integrity.state == .verified ? records : 0,
                       detail: integrity.summary),
        ]

        // Charts.
        var byDay: [String: [String: Int64]] = [:]
        var byAgent: [String: [String: Int64]] = [:]
        for r in calls {
            byDay[ReportTime.day(r.day), default: [:]][r.decision, default: 0] += r.count
            byAgent[r.agentId.isEmpty ? "(none)" : r.agentId, default: [:]][r.decision, default: 0] += r.count
        }
        return ComplianceFacts(
            periodStartMs: query.since, periodEndMs: query.until, agentFilter: query.agentId, taskFilter: query.taskId,
            agents: agents, signals: signals, findings: findings.sorted(),
            decisionsByDay: byDay.keys.sorted().map { DecisionCounts(label: $0, counts: byDay[$0] ?? [:]) },
            decisionsByAgent: byAgent.keys.sorted().map { DecisionCounts(label: $0, counts: byAgent[$0] ?? [:]) },
            integrity: integrity, records: records, calls: callCount)
    }
}
