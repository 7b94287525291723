import Foundation

/// What identifies a file's contents without reading it: its device and
/// inode (a new file renamed or linked into place, as a Kubernetes Secret
/// or cert-manager renews one), and its size and modification time (a
/// file rewritten in place). `stat` follows symlinks, so a Secret's file,
/// a link into its `..data` directory, stamps what it points at.
public struct FileStamp: Sendable, Equatable {
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var size: Int64 = 0
    var seconds: Int = 0
    var nanoseconds: Int = 0

    /// Nil when the file cannot be stat'ed (missing, no permission).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}
