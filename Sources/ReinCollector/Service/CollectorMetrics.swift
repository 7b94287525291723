import Foundation
import Prometheus
import ReinAudit
import ReinStore
import Synchronization

/// The collector's Prometheus metrics, served at `GET /metrics` (roles
/// `metrics`, `auditor`, `admin`).
///
/// Why: the collector is where a fleet's evidence lands, so what needs an
/// alert is here: ingest stopping, integrity findings, sidecars going
/// silent, access being refused, and backups or retention no longer
/// running. The log says each once; a metric lets a monitoring system alert
/// on its rate or its age. Labels are bounded: route patterns (never paths),
/// status codes, finding kinds and fleet statuses from fixed vocabularies,
/// never sidecar or agent ids (the fleet view names them).
public final class CollectorMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Request counters by label set, so that a request does one dictionary
    /// lookup instead of validating a name and labels again.
    private let requestCounters = Mutex<[String: Counter]>([:])

    /// The statuses `GET /v1/fleet` gives a sidecar (``SidecarRoutes``), each exported even at zero.
    static let fleetStatuses = ["ok", "silent", "not-ready", "clock-skew", "findings", "stopped", "retired"]

    public init(version: String) {
        registry.makeGauge(descriptor: descriptor("collector_build", unit: "info", help: "Always 1; the running version is its label."),
                           labels: [("version", version)]).set(to: 1)
    }

    private func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "rein", metricName: name, unitName: unit, helpText: help)
    }

    private func counter(_ name: String, unit: String, help: String, _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: descriptor(name, unit: unit, help: help), labels: labels)
    }

    private func gauge(_ name: String, unit: String, help: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: descriptor(name, unit: unit, help: help), labels: labels)
    }

    /// One answered request: its route's pattern (`unmatched` when none), method and status.
    func request(route: String, method: String, status: UInt) {
        let key = "\(route)|\(method)|\(status)"
        let counter = requestCounters.withLock { cache -> Counter in
            if let c = cache[key] { return c }
            let c = self.counter("collector_requests", unit: "total", help: "API requests answered, by route pattern, method and status code.",
                                 [("route", route), ("method", method), ("code", "\(status)")])
            cache[key] = c
            return c
        }
        counter.increment()
    }

    /// One stored batch.
    func ingested(_ outcome: IngestOutcome) {
        counter("collector_ingested_records", unit: "total", help: "Audit records stored (new; duplicates not counted).")
            .increment(by: Int64(outcome.accepted))
        counter("collector_duplicate_records", unit: "total", help: "Audit records received again and recognised (a shipper's retry).")
            .increment(by: Int64(outcome.duplicates))
        counter("collector_ingested_batches", unit: "total", help: "Audit batches stored.").increment()
        findings(outcome.findings.map(\.finding.kind))
    }

    /// Integrity findings stored, by kind (ingest, verification, a retired backlog).
    func findings(_ kinds: [IntegrityFinding.Kind]) {
        for kind in kinds {
            counter("collector_integrity_findings", unit: "total", help: "Integrity findings stored, by kind: alert on any.",
                    [("kind", kind.rawValue)]).increment()
        }
    }

    /// A refused request (401 or 403), each one, also those folded in the chain.
    func accessDenied(status: UInt) {
        counter("collector_access_denied", unit: "total", help: "Requests refused for their token (401) or its roles (403).",
                [("code", "\(status)")]).increment()
    }

    /// A backup the collector took of itself (``BackupJob``).
    func backup(succeeded: Bool, at date: Date) {
        counter("collector_backups", unit: "total", help: "The collector's own backups (backup.dir), by result.",
                [("result", succeeded ? "success" : "failure")]).increment()
        gauge(succeeded ? "collector_backup_last_success" : "collector_backup_last_failure", unit: "timestamp_seconds",
              help: succeeded ? "When the collector's own backup last succeeded (Unix time): alert on its age."
                  : "When the collector's own backup last failed (Unix time).").set(to: date.timeIntervalSince1970)
    }

    /// A backup copied to `backup.copy_to` (``BackupCopy``).
    func backupCopy(succeeded: Bool, at date: Date, bytes: Int64 = 0) {
        counter("collector_backup_copies", unit: "total", help: "Copies of the collector's own backups to backup.copy_to (S3), by result.",
                [("result", succeeded ? "success" : "failure")]).increment()
        if succeeded {
            counter("collector_backup_copied", unit: "bytes", help: "Bytes of backups copied to backup.copy_to.").increment(by: bytes)
        }
        gauge(succeeded ? "collector_backup_copy_last_success" : "collector_backup_copy_last_failure", unit: "timestamp_seconds",
              help: succeeded ? "When a backup was last copied to backup.copy_to (Unix time): alert on its age."
                  : "When copying a backup to backup.copy_to last failed (Unix time).").set(to: date.timeIntervalSince1970)
    }

    /// A retention run.
    func retention(deleted: Int, at date: Date) {
        counter("collector_retention_deleted_records", unit: "total", help: "Audit records deleted by retention.").increment(by: Int64(deleted))
        gauge("collector_retention_last_run", unit: "timestamp_seconds", help: "When retention last ran (Unix time).")
            .set(to: date.timeIntervalSince1970)
    }

    /// What is read from the store when /metrics is scraped: the fleet by
    /// status, the newest cursor, the database's size on disk, and whether
    /// the store lost a sync of its log (it refuses every write until restarted).
    func scraped(fleet: [String: Int], latestCursor: Int64, databaseBytes: Int64, syncFailed: Bool, diskFull: Bool, diskFreeBytes: Int64?) {
        for status in Self.fleetStatuses {
            gauge("collector_sidecars", unit: "count", help: "Sidecars by fleet status (as GET /v1/fleet gives it): alert on silent.",
                  [("status", status)]).set(to: Double(fleet[status] ?? 0))
        }
        gauge("collector_latest_cursor", unit: "count", help: "The newest ingest cursor: grows with every stored record.").set(to: Double(latestCursor))
        gauge("collector_database", unit: "bytes", help: "The collector database and its log on disk.").set(to: Double(databaseBytes))
        gauge("collector_store", unit: "sync_failed",
              help: "1 once a sync of the store's log failed: every write is refused until the collector is restarted.")
            .set(to: syncFailed ? 1 : 0)
        gauge("collector_store", unit: "disk_full",
              help: "1 while writes are refused because the disk under the store is full; 0 again after a write commits.")
            .set(to: diskFull ? 1 : 0)
        if let diskFreeBytes {
            gauge("collector_store_disk_free", unit: "bytes",
                  help: "Bytes left on the file system that holds the store (alert well before 0: writes then stop).")
                .set(to: Double(diskFreeBytes))
        }
    }

    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
