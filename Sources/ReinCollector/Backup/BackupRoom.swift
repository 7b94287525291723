import Foundation
import ReinStore

/// Whether a backup fits where it is going, checked before anything is written.
///
/// Why: a backup is a full copy of the store (`VACUUM INTO`), and the
/// collector's own backups keep `backup.keep` of them, one more while a new
/// one is taken, often on the store's own volume (the Kubernetes example's
/// `backup.dir` sits beside `state_dir`). A copy that fills that volume
/// refuses every write until it fails and is deleted (503
/// `InsufficientStorage`, sidecars' spools filling meanwhile), and then
/// does it again at the next interval. So a backup that would not fit, or
/// would leave the store's file system under ``reserve`` free, is refused
/// with the figures, before it starts, and alerted as a failed backup.
enum BackupRoom {
    /// What a backup must leave free on the store's file system: a tenth of it.
    static let reserve = 0.10

    static func problem(_ configuration: CollectorConfiguration, into directory: String) -> String? {
        let database = configuration.resolvedDatabase
        let sources = [database, database + "-wal", configuration.holdsDatabase, configuration.holdsDatabase + "-wal"]
        let needed = sources.reduce(Int64(0)) { $0 + SQLiteBackup.fileSize($1) }
        guard let free = FileSystemSpace.available(under: directory) else { return nil }
        let shared = FileSystemSpace.shared(directory, database)
        return problem(needed: needed, free: free, fileSystemSize: shared ? FileSystemSpace.size(under: database) : nil)
    }

    /// The refusal for a backup of about `needed` bytes into a file system
    /// with `free` bytes; `fileSystemSize` when that is the store's own.
    static func problem(needed: Int64, free: Int64, fileSystemSize: Int64?) -> String? {
        guard let fileSystemSize else {
            guard needed > free else { return nil }
            return "it needs about \(needed) bytes and its disk has \(free) free; nothing was written"
        }
        let keep = Int64(Double(fileSystemSize) * reserve)
        guard needed + keep > free else { return nil }
        return "it needs about \(needed) bytes, and its disk, which also holds the collector's database, has \(free) "
            + "free of \(fileSystemSize): taking it would leave less than \(Int(reserve * 100))% free, and a full disk stops "
            + "ingest; nothing was written. Free space (older backups), give backup.dir a volume of its own, "
            + "lower backup.keep or grow the volume"
    }
}
