import Foundation
import ReinStore

/// Why a backup or a restore did not happen. Nothing at the destination
/// changed unless the case says so.
public enum CollectorBackupError: Error, Sendable, CustomStringConvertible {
    /// The backup directory cannot be used (it exists and is not empty, or cannot be made).
    case destination(path: String, reason: String)
    /// Copying, checking or reading a file failed.
    case file(SQLiteBackup.Failure)
    /// `backup.json` is missing or not a collector backup's.
    case manifest(path: String, reason: String)
    /// A file of the backup is not the one the manifest names: damaged or replaced.
    case mismatch(file: String, reason: String)
    /// The collector is running on the state directory being restored.
    case inUse(String)

    public var description: String {
        switch self {
        case .destination(let path, let reason): "cannot write the backup to \(path): \(reason)"
        case .file(let failure): failure.description
        case .manifest(let path, let reason): "\(path) is not a collector backup's manifest: \(reason)"
        case .mismatch(let file, let reason): "the backup's \(file) is not the file it recorded (\(reason)): it was damaged or replaced; nothing was restored"
        case .inUse(let message): "cannot restore while the collector runs: \(message)"
        }
    }
}

/// What a backup or a restore is doing, for a person watching.
public enum CollectorBackupProgress: Sendable {
    case copying(name: String, written: Int64, of: Int64)
    case copied(name: String, bytes: Int64, seconds: Double)
    case checked(name: String)
    case movedAside(from: String, to: String)
    case unchanged(name: String)
    case restored(name: String, to: String)
}

/// `rein collector backup`: a consistent, checked copy of a running
/// collector's state (the store, the hold ledger and the key signing the
/// collector's own chain) with a manifest of digests; and `restore`, which
/// puts one back while the collector is stopped.
///
/// Why a command and not a file copy: the store is a live WAL database
/// (``SQLiteBackup``). Why the signing key too: the collector's chain is
/// checkpointed with it, and a restored store under a new key would verify
/// only up to the restore. The two databases are copied one after the other,
/// each consistent in itself: a hold decided in between is in one and not
/// yet in the other's events, as after a crash between the two.
public enum CollectorBackup {
    /// Writes a backup of the collector configured by `configuration` into
    /// `directory` (made 0700; must be missing or empty). The collector may
    /// be running.
    public static func make(_ configuration: CollectorConfiguration, into directory: String, reinVersion: String,
                            progress: @escaping @Sendable (CollectorBackupProgress) -> Void) throws(CollectorBackupError) -> CollectorBackupManifest {
        if let problem = BackupRoom.problem(configuration, into: directory) {
            throw .destination(path: directory, reason: problem)
        }
        let made = try prepare(directory)
        do {
            return try write(configuration, into: directory, reinVersion: reinVersion, progress: progress)
        } catch {
            discard(directory, made: made)
            throw error
        }
    }

    private static func write(_ configuration: CollectorConfiguration, into directory: String, reinVersion: String,
                              progress: @escaping @Sendable (CollectorBackupProgress) -> Void) throws(CollectorBackupError) -> CollectorBackupManifest {
        let created = RFC3339Time.string(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        guard FileManager.default.fileExists(atPath: configuration.resolvedDatabase) else {
            throw .file(SQLiteBackup.Failure(path: configuration.resolvedDatabase, operation: "back up", reason: "no collector database there (check state_dir or database)"))
        }
        var files: [CollectorBackupManifest.File] = []
        let store = try database(configuration.resolvedDatabase, as: "collector.sqlite", role: .store, into: directory, progress: progress)
        files.append(store)
        let contents: CollectorStoreContents
        do { contents = try CollectorStoreContents.count(directory + "/" + store.name) } catch { throw .file(error) }
        if FileManager.default.fileExists(atPath: configuration.holdsDatabase) {
            files.append(try database(configuration.holdsDatabase, as: "holds.sqlite", role: .holds, into: directory, progress: progress))
        }
        if FileManager.default.fileExists(atPath: configuration.signingKeyPath) {
            let name = "collector-signing.key"
            do {
                try SQLiteBackup.copyFile(from: configuration.signingKeyPath, to: directory + "/" + name)
                files.append(.init(name: name, role: .signingKey, bytes: SQLiteBackup.fileSize(directory + "/" + name),
                                   sha256: try SQLiteBackup.digest(of: directory + "/" + name)))
            } catch { throw .file(error) }
            progress(.copied(name: name, bytes: files.last?.bytes ?? 0, seconds: 0))
        }
        let manifest = CollectorBackupManifest(kind: CollectorBackupManifest.currentKind, created: created, reinVersion: reinVersion,
                                               stateDir: configuration.stateDir, files: files, contents: contents)
        try writeManifest(manifest, into: directory)
        return manifest
    }

    /// Reads and checks the backup in `directory`: the manifest, and every
    /// file's size, digest and (databases) SQLite's consistency check.
    public static func verify(_ directory: String,
                              progress: @escaping @Sendable (CollectorBackupProgress) -> Void) throws(CollectorBackupError) -> CollectorBackupManifest {
        let path = directory + "/" + CollectorBackupManifest.fileName
        let manifest: CollectorBackupManifest
        do {
            manifest = try JSONDecoder().decode(CollectorBackupManifest.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .manifest(path: path, reason: String(describing: error))
        }
        guard manifest.kind == CollectorBackupManifest.currentKind else {
            throw .manifest(path: path, reason: "kind is \(manifest.kind), expected \(CollectorBackupManifest.currentKind)")
        }
        guard manifest.file(.store) != nil else { throw .manifest(path: path, reason: "it lists no collector store") }
        for file in manifest.files {
            guard !file.name.contains("/"), !file.name.hasPrefix(".") else {
                throw .manifest(path: path, reason: "file name \(file.name) is not a plain name")
            }
            let copy = directory + "/" + file.name
            guard FileManager.default.fileExists(atPath: copy) else { throw .mismatch(file: file.name, reason: "it is missing") }
            let bytes = SQLiteBackup.fileSize(copy)
            guard bytes == file.bytes else { throw .mismatch(file: file.name, reason: "\(bytes) bytes, recorded \(file.bytes)") }
            let digest: String
            do { digest = try SQLiteBackup.digest(of: copy) } catch { throw .file(error) }
            guard digest == file.sha256 else { throw .mismatch(file: file.name, reason: "SHA-256 \(digest), recorded \(file.sha256)") }
            if file.role != .signingKey {
                do { try SQLiteBackup.check(copy) } catch { throw .file(error) }
            }
            progress(.checked(name: file.name))
        }
        return manifest
    }

    /// `20261130T201500Z`: sorts by time, no characters a shell or a file system minds.
    public static func stamp(_ date: Date) -> String { stampFormat.string(from: date) }

    /// The time a ``stamp(_:)`` names, or nil.
    public static func date(fromStamp text: String) -> Date? { stampFormat.date(from: text) }

    private static var stampFormat: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }

    // MARK: - Helpers

    /// Copies, checks and digests one database into the backup.
    private static func database(_ source: String, as name: String, role: CollectorBackupManifest.Role, into directory: String,
                                 progress: @escaping @Sendable (CollectorBackupProgress) -> Void) throws(CollectorBackupError) -> CollectorBackupManifest.File {
        let destination = directory + "/" + name
        let started = ContinuousClock.now
        do {
            let bytes = try SQLiteBackup.copy(from: source, to: destination) { progress(.copying(name: name, written: $0, of: $1)) }
            let elapsed = ContinuousClock.now - started
            progress(.copied(name: name, bytes: bytes, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            try SQLiteBackup.check(destination)
            let file = CollectorBackupManifest.File(name: name, role: role, bytes: bytes, sha256: try SQLiteBackup.digest(of: destination))
            progress(.checked(name: name))
            return file
        } catch {
            throw .file(error)
        }
    }

    /// Makes `directory` (0700), or takes it if it exists and is empty;
    /// true when it was made here.
    /// What a failed attempt wrote is not a backup: nothing of it stays to be
    /// taken for one (the directory goes too if the attempt made it).
    static func discard(_ directory: String, made: Bool) {
        if made {
            try? FileManager.default.removeItem(atPath: directory)
        } else {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                try? FileManager.default.removeItem(atPath: directory + "/" + entry)
            }
        }
    }

    /// Makes `directory` (0700) or checks that it is empty; true when it was made here.
    static func prepare(_ directory: String) throws(CollectorBackupError) -> Bool {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory) {
            let entries = (try? manager.contentsOfDirectory(atPath: directory)) ?? ["?"]
            guard entries.isEmpty else { throw .destination(path: directory, reason: "it exists and is not empty; a backup never overwrites") }
            chmod(directory, 0o700)
            return false
        } else {
            do {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .destination(path: directory, reason: error.localizedDescription)
            }
            return true
        }
    }

    private static func writeManifest(_ manifest: CollectorBackupManifest, into directory: String) throws(CollectorBackupError) {
        let path = directory + "/" + CollectorBackupManifest.fileName
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(manifest) + Data("\n".utf8)
            let draft = directory + "/.manifest-draft"
            defer { unlink(draft) }
            try data.write(to: URL(fileURLWithPath: draft))
            try SQLiteBackup.copyFile(from: draft, to: path)  // synced, then renamed into place
        } catch {
            throw .destination(path: path, reason: String(describing: error))
        }
    }
}
