import CReinPosix
import Foundation

/// Whether a store's directory is on a network file system (NFS, which EFS
/// is; SMB/CIFS; FUSE mounts such as s3fs or sshfs).
///
/// Why: the spool and the collector commit with `fdatasync` and trust it,
/// and SQLite's WAL keeps its index in shared memory on one host. Over a
/// network each sync is a round trip to the file server (milliseconds, where
/// a local disk takes 0.1–0.3 ms, and every audited call waits for one), a
/// write-back error may surface only at `close`, and SQLite's documentation
/// says WAL does not work over a network file system. It still runs, with
/// one process per state directory held by the lock, so this is a warning,
/// said at start and by `check-config`, not a refusal.
public enum NetworkFileSystem {
    /// `statfs` magic numbers of the file systems this warns about.
    static let names: [Int64: String] = [
        0x6969: "nfs", 0x517B: "smb", 0xFE53_4D42: "smb2", 0xFF53_4D42: "cifs",
        0x6573_5546: "fuse", 0x0102_1997: "9p", 0x7372_6573: "ceph", 0x0BD0_0BD0: "lustre",
    ]

    /// The network file system that holds `path` (its nearest existing
    /// directory when it does not exist yet), or nil for a local one or when
    /// it cannot be asked.
    public static func name(under path: String) -> String? {
        var type: Int64 = 0
        guard CReinPosix_fileSystemType(FileSystemSpace.existing(path), &type) == 0 else { return nil }
        return names[type]
    }

    /// The warning for a store at `path` (what `role` says: "the audit
    /// spool", "the collector's database"), or nil on a local disk.
    public static func warning(for path: String, role: String) -> String? {
        guard let name = name(under: path) else { return nil }
        return "\(role) \(path) is on a network file system (\(name)): every durable write waits for the file server, "
            + "a lost write may go unreported, and SQLite's WAL is not meant for it; keep it on a local or "
            + "block-storage volume (a local disk, EBS; an emptyDir for a sidecar)"
    }
}
