import Foundation
import ReinCrypto

/// Reads a secret Rein keeps in a file (a signing key, a token), refusing
/// one that is not Rein's alone.
///
/// Why refuse instead of warn: a checkpoint key others can read lets them
/// forge the chain's signatures; a token others can read lets them act as
/// the sidecar. The mode is checked on the descriptor that is then read, so
/// there is no window between the check and the read.
public enum SecretFile {
    public enum Problem: Error, Sendable, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case notAFile(path: String)
        /// Readable by others (or, unless allowed, by the group).
        case shared(path: String, mode: UInt32)
        /// ``replace(_:with:)`` could not write, sync or rename it into place.
        case unwritable(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read \(SecretFile.shown(path)): \(reason)"
            case .notAFile(let path): "\(SecretFile.shown(path)) is not a regular file or a pipe"
            case .unwritable(let path, let reason): "cannot write \(SecretFile.shown(path)): \(reason)"
            case .shared(let path, let mode):
                mode & 0o007 != 0 || mode & 0o070 == 0
                    ? "\(SecretFile.shown(path)) is readable by group or others (mode 0\(String(mode & 0o777, radix: 8))); chmod 600 it"
                    : "\(SecretFile.shown(path)) is readable by its group (mode 0\(String(mode & 0o777, radix: 8))); chmod 600 it"
            }
        }
    }

    /// A secret file's path as messages show it: the path, unless it looks
    /// like a token rather than a file name (no directory, and the shape of
    /// ``TokenShape``: `openssl rand -hex 32` or base64 output, not
    /// `sidecar-token`), which is described by its length. Why: the likely
    /// mistake is the token itself given where its file belongs
    /// (`--token-file`), and the message goes to a terminal, a CI log, a ticket.
    public static func shown(_ path: String) -> String {
        guard !path.contains("/"), TokenShape.isTokenLike(path) else { return path }
        return "(a \(path.count)-character name with no directory, not repeated: it may be the secret itself, "
            + "given where a file name belongs)"
    }

    /// Who besides its owner may read a secret file. Others never may.
    public enum GroupRead: Sendable {
        /// Not its group either: keys Rein made, and secrets given to it on a host.
        case refused
        /// Its group: a file another process must read too (the agent
        /// token, which the agent's container reads), or a TLS key shared
        /// through a group (Kubernetes fsGroup, Debian's `ssl-cert`).
        case allowed
        /// Its group only when root owns the file: a secret the platform
        /// provisioned. A Kubernetes Secret volume gives a non-root
        /// container its files as root:fsGroup, mode 0440; PostgreSQL
        /// accepts a root-owned key file at 0640 for the same reason. A
        /// file a user made stays refused unless it is 0600.
        case whenRootOwned
    }

    /// Checks a secret another library reads itself (a TLS key OpenSSL
    /// loads): its type and mode, without reading it (a pipe is not consumed).
    public static func check(_ path: String, group: GroupRead = .refused) throws(Problem) {
        let fd = try open(path, group: group)
        close(fd)
    }

    /// Opens `path` for reading and checks it on the descriptor: a regular
    /// file or a pipe, with no access for others, nor for the group unless `group` allows it.
    private static func open(_ path: String, group: GroupRead) throws(Problem) -> Int32 {
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(path: path, reason: reason)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFIFO else {
            close(fd)
            throw .notAFile(path: path)
        }
        let groupMay = switch group {
        case .refused: false
        case .allowed: true
        case .whenRootOwned: info.st_uid == 0
        }
        guard info.st_mode & (groupMay ? 0o007 : 0o077) == 0 else {
            close(fd)
            throw .shared(path: path, mode: UInt32(info.st_mode))
        }
        return fd
    }

    /// The file's bytes; nil when it does not exist. A pipe is read too
    /// (`--token-file <(…)` keeps a token off the disk). `group`: whether
    /// its group may read it too (``GroupRead``).
    public static func read(_ path: String, group: GroupRead = .refused) throws(Problem) -> [UInt8]? {
        // Non-blocking open: a FIFO with no writer must not hang the start.
        guard access(path, F_OK) == 0 || errno != ENOENT else { return nil }
        let fd = try open(path, group: group)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            guard bytes.count <= 1 << 20 else { throw .unreadable(path: path, reason: "larger than 1 MiB") }
        }
    }

    /// Replaces `path` with `bytes`, mode 0600, so that a reader (or a
    /// restart after a crash or power loss) sees the old contents or the
    /// new, never part of either: a temporary file beside it is written,
    /// synced and renamed over it, and the directory is synced.
    public static func replace(_ path: String, with bytes: [UInt8]) throws(Problem) {
        let tmp = path + ".tmp-\(getpid())-" + Hex.encode(CryptoLibrary.randomBytes(count: 4))
        func failure(_ step: String) -> Problem {
            .unwritable(path: path, reason: "\(step): \(String(cString: strerror(errno)))")
        }
        let fd = Foundation.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create \(tmp)") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let problem = failure("write \(tmp)")
                close(fd)
                unlink(tmp)
                throw problem
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let problem = failure("sync \(tmp)")
            close(fd)
            unlink(tmp)
            throw problem
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let problem = failure("rename \(tmp)")
            unlink(tmp)
            throw problem
        }
        // The rename itself survives power loss only once the directory is synced.
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = Foundation.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}
