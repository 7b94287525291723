import Foundation
import ReinCompliance
import ReinStore

/// Builds a framework report from a store: read the period's facts, judge
/// every control of the chosen catalogs. The HTTP route and the benchmark
/// both come through here, so the figure measures what users run.
public struct ComplianceReporter: Sendable {
    public let store: any CollectorStore
    public let policyGate: PolicyGate
    /// Approver token name → agents it owns (decisions by them are the wrong party's).
    public let owners: [String: Set<String>]
    public let silentAfterSeconds: Int64

    public init(store: any CollectorStore, policyGate: PolicyGate, owners: [String: Set<String>], silentAfterSeconds: Int64) {
        self.store = store
        self.policyGate = policyGate
        self.owners = owners
        self.silentAfterSeconds = silentAfterSeconds
    }

    /// - Parameter tokens: the tokens in force (approvers' `owns_agents`: separation of duties).
    public init(configuration: CollectorConfiguration, tokens: [CollectorToken], store: any CollectorStore, policyGate: PolicyGate) {
        var owners: [String: Set<String>] = [:]
        for token in tokens where token.roles.contains(.approver) && !token.ownsAgents.isEmpty {
            owners[token.name] = token.ownsAgents
        }
        self.init(store: store, policyGate: policyGate, owners: owners, silentAfterSeconds: configuration.silentAfter)
    }

    public func facts(_ query: ComplianceData.Query, nowMs: Int64) throws(CollectorStoreError) -> ComplianceFacts {
        let data = try store.complianceData(query)
        return ComplianceFactsBuilder(data: data, query: query, owners: owners, silentAfterMs: silentAfterSeconds * 1000, nowMs: nowMs,
                                      policyGate: policyGate).build()
    }

    public func report(_ query: ComplianceData.Query, catalogs: [ComplianceCatalog], nowMs: Int64) throws(CollectorStoreError) -> ComplianceReport {
        ComplianceEvaluator.report(catalogs: catalogs, facts: try facts(query, nowMs: nowMs))
    }
}
