import Foundation
import ReinStore

/// `rein collector restore`: puts a checked backup back into a collector's
/// state directory while the collector is stopped.
///
/// Why nothing is deleted: whatever the state directory held (a damaged
/// store, or a newer one restored over by mistake) is moved aside, with its
/// log, as `<file>.before-restore-<time>`, so a restore can be undone and a
/// damaged store examined. Why the locks: the running collector holds its
/// databases' ``DatabaseLock``s, so a restore under it is refused rather
/// than replacing files a process has open.
public enum CollectorRestore {
    /// What a restore did.
    public struct Outcome: Sendable {
        public let manifest: CollectorBackupManifest
        /// Files moved aside, from → to.
        public let movedAside: [(from: String, to: String)]
    }

    /// Verifies the backup in `directory` (``CollectorBackup/verify(_:progress:)``),
    /// then, holding the databases' locks, moves what is there aside and
    /// copies the backup's files in, each synced before it is renamed into place.
    public static func restore(_ configuration: CollectorConfiguration, from directory: String, now: Date = Date(),
                               progress: @escaping @Sendable (CollectorBackupProgress) -> Void) throws(CollectorBackupError) -> Outcome {
        let manifest = try CollectorBackup.verify(directory, progress: progress)
        var locks: [DatabaseLock] = []
        for path in [configuration.resolvedDatabase, configuration.holdsDatabase] {
            do { locks.append(try SQLiteStore.lockForWriting(path)) } catch { throw .inUse(error.underlying) }
        }
        defer { locks.forEach { $0.release() } }
        let stamp = CollectorBackup.stamp(now)
        var moved: [(from: String, to: String)] = []
        for file in manifest.files {
            let target = Self.target(of: file.role, in: configuration)
            let source = directory + "/" + file.name
            if file.role == .signingKey, FileManager.default.fileExists(atPath: target),
               (try? SQLiteBackup.digest(of: target)) == file.sha256 {
                progress(.unchanged(name: file.name))
                continue
            }
            let companions = file.role == .signingKey ? [""] : ["", "-wal", "-shm"]
            for suffix in companions where FileManager.default.fileExists(atPath: target + suffix) {
                let aside = target + ".before-restore-" + stamp + suffix
                guard rename(target + suffix, aside) == 0 else {
                    throw .file(SQLiteBackup.Failure(path: target + suffix, operation: "move aside", reason: String(cString: strerror(errno))))
                }
                moved.append((target + suffix, aside))
                progress(.movedAside(from: target + suffix, to: aside))
            }
            do {
                try SQLiteBackup.copyFile(from: source, to: target)
            } catch {
                throw .file(error)
            }
            progress(.restored(name: file.name, to: target))
        }
        return Outcome(manifest: manifest, movedAside: moved)
    }

    static func target(of role: CollectorBackupManifest.Role, in configuration: CollectorConfiguration) -> String {
        switch role {
        case .store: configuration.resolvedDatabase
        case .holds: configuration.holdsDatabase
        case .signingKey: configuration.signingKeyPath
        }
    }
}
