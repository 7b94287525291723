import Foundation
import Logging
import ReinStore

/// The collector's own backups (`backup.dir`): ``CollectorBackup`` into
/// `<dir>/rein-backup-<time>` every `backup.interval`, keeping the newest
/// `backup.keep`.
///
/// Why the schedule follows the newest backup on disk and not the start
/// time: a collector that restarts often (a crash loop, a rollout) would
/// otherwise take a backup at every start and, keeping only the newest few,
/// push out the older good ones. With none on disk it takes one at once, so
/// a new deployment has a baseline. Why older backups go only after a new
/// one is whole, and only directories it made (its prefix and a manifest):
/// a failing disk must never leave fewer good backups than before, and the
/// directory may hold an operator's files. A failure is logged at error and
/// posted to `alerts.webhook_url`: backups that silently stopped are found
/// only when they are needed. With `backup.copy_to`, the newest backup is
/// then copied to S3 (``BackupCopier``), and a failed copy is tried again
/// every `min(interval, 15m)` until it is in or a newer backup replaces it.
final class BackupJob: Sendable {
    static let prefix = "rein-backup-"
    private let task: Task<Void, Never>
    private let stopping = StopFlag()

    init(services: CollectorServices, reinVersion: String) {
        let configuration = services.configuration
        let stopping = stopping
        task = Task {
            guard let dir = configuration.backupDir else { return }
            let copier = configuration.backupCopy.flatMap { BackupCopier(destination: $0, services: services, stopping: stopping) }
            // When a failed copy is tried again; a new backup resets it.
            var copyRetry = Date.distantPast
            while !Task.isCancelled {
                if let copier, Date() >= copyRetry, let newest = Self.backups(in: dir).last {
                    let copied = await copier.copyIfNeeded(dir + "/" + newest)
                    // Not again at once: a missing permission stays missing for a while.
                    copyRetry = copied ? .distantPast : Date().addingTimeInterval(TimeInterval(min(configuration.backupInterval, 900)))
                }
                let due = Self.due(in: dir, interval: configuration.backupInterval, now: Date())
                let wake = copyRetry > Date() ? min(due, copyRetry) : due
                let wait = wake.timeIntervalSinceNow
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return }
                }
                guard Date() >= due else { continue }
                do {
                    let manifest = try await services.blocking {
                        try Self.runOnce(configuration, reinVersion: reinVersion, now: Date(), logger: services.logger)
                    }
                    services.metrics.backup(succeeded: true, at: Date())
                    copyRetry = .distantPast
                    services.logger.info("backup taken", metadata: [
                        "backup.dir": "\(dir)", "backup.created": "\(manifest.created)",
                        "backup.bytes": "\(manifest.files.reduce(0) { $0 + $1.bytes })", "backup.records": "\(manifest.contents.records)",
                    ])
                } catch {
                    services.metrics.backup(succeeded: false, at: Date())
                    services.logger.error("backup failed; the previous backups are kept", metadata: ["backup.dir": "\(dir)", "error": "\(error)"])
                    services.alerts?.send(BackupAlertMessage.payload(dir: dir, error: "\(error)", consoleURL: configuration.alertsConsoleURL),
                                          metadata: ["alert": "backup"])
                    // Not again at once: a full disk stays full for a while.
                    do { try await Task.sleep(for: .seconds(min(configuration.backupInterval, 3600))) } catch { return }
                }
            }
        }
    }

    func stop() {
        stopping.set()
        task.cancel()
    }

    /// When the next backup is due: `interval` after the newest one in `dir`, or now.
    static func due(in dir: String, interval: Int64, now: Date) -> Date {
        guard let newest = backups(in: dir).last, let taken = CollectorBackup.date(fromStamp: String(newest.dropFirst(prefix.count))) else {
            return now
        }
        return taken.addingTimeInterval(TimeInterval(interval))
    }

    /// Takes one backup and then deletes the oldest of this job's beyond `backup.keep`.
    static func runOnce(_ configuration: CollectorConfiguration, reinVersion: String, now: Date,
                        logger: Logger) throws(CollectorBackupError) -> CollectorBackupManifest {
        guard let dir = configuration.backupDir else { throw .destination(path: "(backup.dir)", reason: "not configured") }
        let target = dir + "/" + prefix + CollectorBackup.stamp(now)
        // A failed attempt leaves nothing behind (``CollectorBackup/make``).
        let manifest = try CollectorBackup.make(configuration, into: target, reinVersion: reinVersion, progress: { _ in })
        for old in backups(in: dir).dropLast(configuration.backupKeep) {
            do {
                try FileManager.default.removeItem(atPath: dir + "/" + old)
                logger.info("old backup deleted", metadata: ["backup.dir": "\(dir)", "backup.name": "\(old)", "backup.keep": "\(configuration.backupKeep)"])
            } catch {
                logger.warning("could not delete an old backup", metadata: ["backup.dir": "\(dir)", "backup.name": "\(old)", "error": "\(error)"])
            }
        }
        return manifest
    }

    /// This job's complete backups in `dir`, oldest first: its prefix, a
    /// well-formed time, and a manifest.
    static func backups(in dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { name in
            name.hasPrefix(prefix) && CollectorBackup.date(fromStamp: String(name.dropFirst(prefix.count))) != nil
                && FileManager.default.fileExists(atPath: dir + "/" + name + "/" + CollectorBackupManifest.fileName)
        }.sorted()
    }
}
