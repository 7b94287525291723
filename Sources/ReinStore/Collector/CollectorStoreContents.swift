import Foundation
import GRDB

/// What a collector database holds, counted from a closed copy of it (a
/// backup), for its manifest and for the person restoring it.
public struct CollectorStoreContents: Codable, Sendable, Equatable {
    /// Every record: the sidecars' and the collector's own chain's events.
    public var records: Int64
    /// Sidecars (not counting the collector's own chain).
    public var sidecars: Int64
    public var findings: Int64
    public var policyVersions: Int64
    /// The newest ingest cursor: a restore to this copy loses every record
    /// the collector acknowledged after it.
    public var latestCursor: Int64

    enum CodingKeys: String, CodingKey {
        case records, sidecars, findings
        case policyVersions = "policy_versions"
        case latestCursor = "latest_cursor"
    }

    public init(records: Int64, sidecars: Int64, findings: Int64, policyVersions: Int64, latestCursor: Int64) {
        self.records = records
        self.sidecars = sidecars
        self.findings = findings
        self.policyVersions = policyVersions
        self.latestCursor = latestCursor
    }

    /// Counts the database at `path`, opened read only (never a live
    /// store's file: its log would not be read).
    public static func count(_ path: String) throws(SQLiteBackup.Failure) -> CollectorStoreContents {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                func count(_ table: String, _ filter: String = "") throws -> Int64 {
                    try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table) \(filter)", arguments: filter.isEmpty ? [] : [CollectorStoreConstants.collectorChain]) ?? 0
                }
                return CollectorStoreContents(records: try count("records"), sidecars: try count("sidecars", "WHERE sidecar_id != ?"),
                                              findings: try count("findings"),
                                              policyVersions: try count("policy_versions"),
                                              latestCursor: try SQLiteCollectorStore.newestCursor(db))
            }
        } catch {
            throw SQLiteBackup.Failure(path: path, operation: "count what is in", reason: "not a collector database: \(error)")
        }
    }
}
