import ArgumentParser
import Foundation
import Logging
import ReinBroker
import ReinCollector
import ReinStore
import ReinUpstream

/// `rein collector backup DIR`: a consistent, checked copy of a running
/// collector's state with a manifest of digests (``CollectorBackup``).
struct CollectorBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a collector's state (store, holds, signing key) into a new directory, while it runs.",
        discussion: """
            Reads the same configuration as `run` (its state_dir and database). Each database is copied as of one \
            moment with SQLite's VACUUM INTO while the collector goes on ingesting, checked with quick_check, and \
            listed with its SHA-256 in DIRECTORY/backup.json. DIRECTORY must be new or empty; it is made 0700. \
            The backup holds the key that signs the collector's own chain: keep it as private as the state directory. \
            Restore with `rein collector restore DIRECTORY` while the collector is stopped. With --copy, the backup is \
            then copied to backup.copy_to (S3) as the collector's scheduled backups are, each file checked against \
            backup.json as it is read and backup.json last; with --copy and an existing DIRECTORY holding a backup, \
            only the copy is made.
            """)

    @Argument(help: "A new or empty directory for the backup.")
    var directory: String
    @Flag(help: "Then copy it to backup.copy_to (S3) with the credentials that section names.")
    var copy = false
    @OptionGroup var options: CollectorConfigOptions

    func run() throws {
        let configuration: CollectorConfiguration
        do { configuration = try options.loadConfiguration() } catch { throw CommandFailure.configuration(error.description) }
        let destination = configuration.backupCopy
        if copy, destination == nil {
            throw CommandFailure.configuration("--copy needs backup.copy_to in the configuration")
        }
        let existing = FileManager.default.fileExists(atPath: directory + "/" + CollectorBackupManifest.fileName)
        if !(copy && existing) {
            let manifest: CollectorBackupManifest
            do {
                manifest = try CollectorBackup.make(configuration, into: directory, reinVersion: ReinVersion.current,
                                                    progress: BackupProgressLine.report)
            } catch {
                throw CommandFailure.failed("backup failed: \(error)")
            }
            print("backup of \(configuration.stateDir) taken at \(manifest.created) in \(directory)")
            BackupProgressLine.describe(manifest)
            if manifest.file(.signingKey) != nil {
                print("  it holds collector-signing.key, a secret: keep the backup as private as the state directory")
            }
        }
        guard copy, let destination else { return }
        let receipt: BackupCopy.Receipt
        do {
            let (http, credentials) = try BackupProgressLine.s3Access(destination, label: "rein.collector.backup")
            receipt = try BackupCopy.run(directory, to: destination, credentials: credentials, http: http, progress: BackupProgressLine.report)
        } catch {
            throw CommandFailure.failed("the backup in \(directory) is whole, but copying it to \(destination.url) failed: \(error)")
        }
        print("copied to \(receipt.destination) at \(receipt.copied):")
        for object in receipt.objects {
            print("  s3://\(destination.bucket)/\(object.key)  \(BackupProgressLine.size(object.bytes))")
        }
    }
}

/// `rein collector restore DIR`: puts a backup back while the collector is stopped (``CollectorRestore``).
struct CollectorRestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup back into the collector's state directory (the collector must be stopped).",
        discussion: """
            Checks every file of the backup against backup.json (size, SHA-256, SQLite quick_check) first, and \
            restores nothing if one does not match. The collector's files in the state directory are moved aside \
            (with their logs) as <file>.before-restore-<time>, never deleted. Records the collector acknowledged after \
            the backup was taken are not in it, and sidecars have deleted them from their spools: when each sidecar \
            ships next, the collector stores a gap finding for its missing range. With --check, only the backup is \
            checked and nothing changes. Exit 0: restored (or, with --check, sound); 1: not restored, and why is said. \
            BACKUP may also be a copy in S3 (s3://bucket/prefix/rein-backup-<time>, as backup.copy_to made it): it is \
            first downloaded with backup.copy_to's region, endpoint and credentials (which then need s3:GetObject) into \
            --download-to, or beside the collector's own backups in backup.dir, and kept there.
            """)

    @Argument(help: ArgumentHelp("The backup directory (with its backup.json), or its copy in S3.", valueName: "backup"))
    var directory: String
    @Flag(help: "Check the backup and say what a restore would bring back; change nothing.")
    var check = false
    @Option(help: ArgumentHelp("Where a backup in S3 is downloaded to (a new or empty directory).", valueName: "directory"))
    var downloadTo: String?
    @OptionGroup var options: CollectorConfigOptions

    func run() throws {
        let configuration: CollectorConfiguration
        do { configuration = try options.loadConfiguration() } catch { throw CommandFailure.configuration(error.description) }
        let directory = directory.hasPrefix("s3://") ? try fetch(directory, configuration) : directory
        if check {
            let manifest: CollectorBackupManifest
            do { manifest = try CollectorBackup.verify(directory, progress: BackupProgressLine.report) } catch {
                throw CommandFailure.failed("the backup is not sound: \(error)")
            }
            print("backup in \(directory), taken at \(manifest.created) from \(manifest.stateDir): every file matches backup.json")
            BackupProgressLine.describe(manifest)
            return
        }
        let outcome: CollectorRestore.Outcome
        do {
            outcome = try CollectorRestore.restore(configuration, from: directory, progress: BackupProgressLine.report)
        } catch {
            throw CommandFailure.failed("nothing restored: \(error)")
        }
        let manifest = outcome.manifest
        print("restored the backup taken at \(manifest.created) into \(configuration.stateDir)")
        BackupProgressLine.describe(manifest)
        for moved in outcome.movedAside { print("  moved aside: \(moved.from) -> \(moved.to)") }
        print("  records acknowledged after \(manifest.created) are not in it: each sidecar's missing range becomes a gap finding when it ships next")
    }
}

extension CollectorRestoreCommand {
    /// Downloads a backup from S3 (``BackupFetch``) and returns the local directory it is now in.
    func fetch(_ source: String, _ configuration: CollectorConfiguration) throws -> String {
        guard let settings = configuration.backupCopy else {
            throw CommandFailure.configuration("restoring from \(source) needs backup.copy_to in the configuration (its region, endpoint and credentials)")
        }
        let name = source.split(separator: "/").last.map(String.init) ?? "backup"
        guard let target = downloadTo ?? configuration.backupDir.map({ $0 + "/downloaded-" + name }) else {
            throw CommandFailure.configuration("say where to download \(source) with --download-to (backup.dir is not set)")
        }
        let manifest: CollectorBackupManifest
        do {
            let (_, credentials) = try BackupProgressLine.s3Access(settings, label: "rein.collector.restore")
            manifest = try BackupFetch.run(source, settings: settings, credentials: credentials, into: target, progress: BackupProgressLine.report)
        } catch {
            throw CommandFailure.failed("nothing restored: downloading \(source) failed: \(error)")
        }
        print("downloaded \(source) (taken at \(manifest.created)) into \(target)")
        return target
    }
}

/// How backup and restore talk to the person running them: progress on
/// standard error, what the backup holds on standard output.
enum BackupProgressLine {
    @Sendable static func report(_ event: CollectorBackupProgress) {
        let line: String
        switch event {
        case .copying(let name, let written, let total):
            line = "\(name): \(size(written)) of about \(size(total)) written"
        case .copied(let name, let bytes, let seconds):
            line = "\(name): copied, \(size(bytes))" + (seconds > 0 ? String(format: " in %.1f s", seconds) : "")
        case .checked(let name):
            line = "\(name): checked"
        case .movedAside(let from, let to):
            line = "moved aside \(from) -> \(to)"
        case .unchanged(let name):
            line = "\(name): the same as in the state directory, left as it is"
        case .restored(let name, let to):
            line = "\(name): restored to \(to)"
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// The HTTP client and credentials (backup.copy_to's chain, from this process's environment) for S3.
    static func s3Access(_ settings: BackupCopyDestination, label: String) throws(BackupCopyError) -> (HTTPClient, BrokerCredentialSource) {
        let http = settings.httpClient()
        return (http, try BackupCopy.credentialSource(for: settings, environment: ProcessInfo.processInfo.environment, http: http,
                                                      logger: Logger(label: label)))
    }

    static func describe(_ manifest: CollectorBackupManifest) {
        for file in manifest.files {
            print("  \(file.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(size(file.bytes).padding(toLength: 10, withPad: " ", startingAt: 0)) sha256 \(file.sha256)")
        }
        let c = manifest.contents
        print("  store: \(c.records) records (the sidecars' and the collector's own), \(c.sidecars) sidecars, \(c.findings) findings, \(c.policyVersions) policy versions; newest cursor \(c.latestCursor)")
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
