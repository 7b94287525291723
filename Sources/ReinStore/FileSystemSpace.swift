import Foundation

/// Room left on the file system under a store.
///
/// Why: a full disk stops the collector's writes (503
/// `InsufficientStorage`) until someone frees space, and the metric lets a
/// monitoring system warn before it fills. What an unprivileged process may
/// still use (`f_bavail`), not the blocks reserved for root.
public enum FileSystemSpace {
    /// Bytes available on the file system that holds `path` (its nearest
    /// existing directory when it does not exist yet), or nil when it cannot be asked.
    public static func available(under path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(existing(path), &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// The size of the file system that holds `path`, or nil when it cannot be asked.
    public static func size(under path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(existing(path), &info) == 0 else { return nil }
        return Int64(info.f_blocks) * Int64(info.f_frsize)
    }

    /// Whether `a` and `b` (or their nearest existing directories) are on
    /// one file system: what is written under one takes room from the other.
    public static func shared(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(existing(a), &first) == 0, stat(existing(b), &second) == 0 else { return false }
        return first.st_dev == second.st_dev
    }

    /// `path`, or its nearest existing directory when it does not exist yet
    /// (a state directory created at the first start lands on that file system).
    static func existing(_ path: String) -> String {
        var current = path
        while !FileManager.default.fileExists(atPath: current) {
            let parent = (current as NSString).deletingLastPathComponent
            if parent.isEmpty { return "." }
            if parent == current { return current }
            current = parent
        }
        return current
    }
}
