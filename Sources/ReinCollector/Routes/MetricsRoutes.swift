import Foundation
import ReinStore

/// `GET /metrics`: the collector's Prometheus metrics (``CollectorMetrics``),
/// for a `metrics` token (a monitoring system), or an auditor's or admin's.
///
/// Why behind a token: the collector's one listener also serves the API, and
/// the fleet's size and state are not for anyone who can reach it; a
/// `metrics` token reads nothing else (Prometheus: `authorization:
/// credentials_file`).
enum MetricsRoutes {
    static var routes: [CollectorRoute] {
        [CollectorRoute(.GET, "/metrics", roles: [.metrics, .auditor, .admin], handler: metrics)]
    }

    @Sendable static func metrics(_ call: CollectorCall) async throws -> CollectorResponse {
        let services = call.services
        let configuration = services.configuration
        let now = services.nowMillis
        let (entries, cursor) = try await services.reading { [store = services.store] in (try store.sidecars(), try store.latestCursor()) }
        var fleet: [String: Int] = [:]
        for entry in entries where entry.sidecarId != CollectorStoreConstants.collectorChain {
            let status = SidecarRoutes.status(of: entry, now: now, silentAfter: configuration.silentAfter, maxClockSkew: configuration.maxClockSkew)
            fleet[status, default: 0] += 1
        }
        let database = configuration.resolvedDatabase
        services.metrics.scraped(fleet: fleet, latestCursor: cursor,
                                 databaseBytes: SQLiteBackup.fileSize(database) + SQLiteBackup.fileSize(database + "-wal"),
                                 syncFailed: services.store.durabilityFault != nil, diskFull: services.store.diskFull,
                                 diskFreeBytes: FileSystemSpace.available(under: database))
        return CollectorResponse(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                 body: services.metrics.exposition())
    }
}
