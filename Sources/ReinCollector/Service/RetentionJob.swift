import Foundation
import Logging
import ReinStore

/// Deletes records older than `retention` once at start and then every
/// `interval` (daily); findings are kept.
///
/// Why a task and not a timer on an event loop: deleting is blocking SQLite
/// work in chunks; it runs on the thread pool, between ingest transactions.
final class RetentionJob: Sendable {
    private let task: Task<Void, Never>

    init(services: CollectorServices) {
        let retention = services.configuration.retention
        let interval = services.configuration.retentionInterval
        task = Task {
            while !Task.isCancelled {
                let cutoff = services.nowMillis - retention * 1000
                do {
                    let deleted = try await services.blocking { [store = services.store] in
                        try store.deleteRecords(receivedBefore: cutoff)
                    }
                    services.metrics.retention(deleted: deleted, at: Date())
                    services.logger.info("retention ran", metadata: ["records.deleted": "\(deleted)",
                                                                     "retention.cutoff": "\(RFC3339Time.string(milliseconds: cutoff))"])
                } catch {
                    services.logger.error("retention failed", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }

    func stop() { task.cancel() }
}
