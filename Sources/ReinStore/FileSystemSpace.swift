import Foundation

/// Room left on the file system under a store.
///
/// Why: a full disk stops the collector's writes (503
/// `InsufficientStorage`) until someone frees space, and the metric lets a
/// monitoring system warn before it fills. What an unprivileged process may
/// still use (`f_bavail`), not the blocks reserved for root.
public enum FileSystemSpace {
    /// Bytes available on the file system that holds `path` (its directory
    /// when the file does not exist yet), or nil when it cannot be asked.
    public static func available(under path: String) -> Int64? {
        var target = path
        if !FileManager.default.fileExists(atPath: target) {
            target = (path as NSString).deletingLastPathComponent
            if target.isEmpty { target = "." }
        }
        var info = statvfs()
        guard statvfs(target, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
