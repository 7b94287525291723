import Foundation
import NIOHTTP1
import ReinCompliance
import ReinStore

/// Framework-alignment reports (`rein report`): the evidence engine over the
/// collector's store and the `Compliance/` catalogs, rendered as JSON,
/// Markdown, HTML, CSV or OSCAL assessment results.
enum ReportRoutes {
    static var routes: [CollectorRoute] {
        [CollectorRoute(.GET, "/v1/reports", roles: [.auditor, .admin], handler: report)]
    }

    /// `nist-ai-rmf` for `nist-ai-rmf-1.0`, `owasp-agentic` for `owasp-agentic-top10-2026`, …
    static func select(_ name: String, from catalogs: [ComplianceCatalog]) throws -> [ComplianceCatalog] {
        if name == "all" { return catalogs }
        let exact = catalogs.filter { $0.framework.id == name }
        if !exact.isEmpty { return exact }
        let prefixed = catalogs.filter { $0.framework.id.hasPrefix(name + "-") || $0.framework.id.hasSuffix("-" + name) }
        guard prefixed.count == 1 else {
            throw CollectorAPIError.badRequest("framework must be all or one of \(catalogs.map(\.framework.id).joined(separator: ", ")) (or a unique prefix such as nist-ai-rmf, owasp-agentic, owasp-nhi, maestro)")
        }
        return prefixed
    }

    @Sendable static func report(_ call: CollectorCall) async throws -> CollectorResponse {
        let services = call.services
        let q = call.request.query
        try AuditRoutes.onlyParameters(q, ["framework", "format", "since", "until", "agent", "task"])
        guard !services.complianceCatalogs.isEmpty else {
            return .unavailable("no framework catalogs are loaded (compliance_dir)")
        }
        let catalogs = try select(q["framework"].nonEmpty ?? "all", from: services.complianceCatalogs)
        guard let format = ReportFormat(rawValue: q["format"].nonEmpty ?? "json") else {
            throw CollectorAPIError.badRequest("format must be one of \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let now = services.nowMillis
        let until = try q["until"].nonEmpty.map { try AuditRoutes.time($0, name: "until", now: now) } ?? now
        let since = try AuditRoutes.time(q["since"].nonEmpty ?? "30d", name: "since", now: until)
        guard since < until else { throw CollectorAPIError.badRequest("since must be before until") }
        let query = ComplianceData.Query(since: since, until: until, agentId: q["agent"].nonEmpty, taskId: q["task"].nonEmpty)
        let reporter = ComplianceReporter(configuration: services.configuration, tokens: services.tokens, store: services.store, policyGate: services.policyGate)
        let report = try await services.reading { try reporter.report(query, catalogs: catalogs, nowMs: now) }
        let body = ReportRenderer.render(report, as: format)
        return CollectorResponse(status: .ok, headers: [("Content-Type", format.contentType),
                                                         ("X-Rein-Report-Integrity", report.integrity.state.rawValue)], body: body)
    }
}
