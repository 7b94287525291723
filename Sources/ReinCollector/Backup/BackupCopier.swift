import Foundation
import Logging
import ReinBroker
import ReinUpstream
import Synchronization

/// The scheduled side of ``BackupCopy``: copies the newest backup once,
/// logs and counts each attempt, and alerts once per backup whose copy fails.
///
/// Why only the newest: when copies have failed for a while, the older
/// backups it missed are superseded, and copying them would only delay the
/// one a restore would use.
struct BackupCopier: Sendable {
    let destination: BackupCopyDestination
    let services: CollectorServices
    let credentials: BrokerCredentialSource
    let http: HTTPClient
    /// Set at shutdown: a copy in progress stops before its next request.
    let stopping: StopFlag
    /// The backup whose failed copy was last alerted: a retry every 15 minutes
    /// is logged and counted each time, but a person is told once per backup.
    private let alerted = AlertLatch()

    /// Nil (logged and alerted) when the credentials chain cannot be built;
    /// the configuration check makes that rare.
    init?(destination: BackupCopyDestination, services: CollectorServices, stopping: StopFlag) {
        self.destination = destination
        self.services = services
        self.stopping = stopping
        http = destination.httpClient()
        do {
            credentials = try BackupCopy.credentialSource(for: destination, environment: ProcessInfo.processInfo.environment,
                                                          http: http, logger: services.logger)
        } catch {
            services.logger.error("backups will not be copied", metadata: ["backup.copy_to": "\(destination.url)", "error": "\(error)"])
            services.alerts?.send(BackupAlertMessage.copyPayload(backup: "(every backup)", destination: destination.url, error: "\(error)",
                                                                 consoleURL: services.configuration.alertsConsoleURL),
                                  metadata: ["alert": "backup-copy"])
            return nil
        }
    }

    /// Copies `backup` unless its receipt says it is in; false when an attempt failed.
    func copyIfNeeded(_ backup: String) async -> Bool {
        guard BackupCopy.receipt(in: backup, for: destination) == nil else { return true }
        let name = URL(fileURLWithPath: backup).lastPathComponent
        let started = Date()
        let logger = services.logger
        do {
            let receipt = try await services.blocking { [destination, credentials, http, stopping] () throws(BackupCopyError) -> BackupCopy.Receipt in
                try BackupCopy.run(backup, to: destination, credentials: credentials, http: http, shouldStop: { stopping.isSet }) { event in
                    if case .copied(let file, let bytes, let seconds) = event {
                        logger.info("backup file copied", metadata: [
                            "backup.name": "\(name)", "backup.file": "\(file)", "backup.bytes": "\(bytes)",
                            "backup.seconds": "\(String(format: "%.1f", seconds))",
                        ])
                    }
                }
            }
            let bytes = receipt.objects.reduce(0) { $0 + $1.bytes }
            services.metrics.backupCopy(succeeded: true, at: Date(), bytes: bytes)
            logger.info("backup copied", metadata: [
                "backup.name": "\(name)", "backup.copy_to": "\(destination.url)", "backup.bytes": "\(bytes)",
                "backup.seconds": "\(String(format: "%.1f", Date().timeIntervalSince(started)))",
            ])
            return true
        } catch BackupCopyError.stopped {
            logger.info("copying a backup stopped for the shutdown; it is made at the next start", metadata: ["backup.name": "\(name)"])
            return false
        } catch {
            services.metrics.backupCopy(succeeded: false, at: Date())
            logger.error("copying a backup failed; the local backup is kept", metadata: [
                "backup.name": "\(name)", "backup.copy_to": "\(destination.url)", "error": "\(error)",
            ])
            if alerted.firstFailure(of: name) {
                services.alerts?.send(BackupAlertMessage.copyPayload(backup: name, destination: destination.url, error: "\(error)",
                                                                     consoleURL: services.configuration.alertsConsoleURL),
                                      metadata: ["alert": "backup-copy"])
            }
            return false
        }
    }
}

/// Remembers which backup's failed copy was last alerted.
final class AlertLatch: Sendable {
    private let last = Mutex<String?>(nil)

    /// True the first time a copy of `backup` fails (since another backup's failure).
    func firstFailure(of backup: String) -> Bool {
        last.withLock { last in
            defer { last = backup }
            return last != backup
        }
    }
}
