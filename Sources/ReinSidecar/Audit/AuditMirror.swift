import Foundation
import Logging
import ReinAudit
import Synchronization

/// A readable copy of the audit chain: `state_dir/audit.jsonl`, one chained
/// line per record, appended after the record is durable in the spool.
///
/// Why keep it: people (and `rein policy suggest --from`) read JSONL, and the
/// spool deletes what the collector acknowledged. It is a convenience, not
/// the record of truth: it is not fsynced, a write error only logs once, and
/// it is never shipped. Lines arrive from the spool's syncer thread in chain
/// order, so the file is in chain order too.
///
/// Why it is capped (`audit.jsonl_max_bytes`): the copy grows with every
/// call and nothing ships or deletes it, so uncapped it would fill the disk
/// that `audit.spool_max_bytes` was sized for, and a full disk stops the
/// spool, and with it every call. Past the cap the file moves to
/// `audit.jsonl.1` (replacing the one before) and a new one starts: at most
/// twice the cap on disk, and the newest records always in `audit.jsonl`.
final class AuditMirror: Sendable {
    let path: String
    let maxBytes: Int64
    private struct File {
        var fd: Int32
        var size: Int64
    }
    private let file: Mutex<File>
    private let logger: Logger
    private let failed = Atomic<Bool>(false)

    /// The previous file, kept after a rotation.
    var rotatedPath: String { path + ".1" }

    init(path: String, maxBytes: Int64, logger: Logger) throws(SidecarStartError) {
        self.path = path
        self.maxBytes = maxBytes
        self.logger = logger
        let opened = Self.open(path)
        guard opened >= 0 else {
            throw SidecarStartError("cannot open the audit copy \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        let size = fstat(opened, &info) == 0 ? Int64(info.st_size) : 0
        file = Mutex(File(fd: opened, size: size))
    }

    private static func open(_ path: String) -> Int32 {
        Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    }

    /// Appends the records' lines with one write (best effort).
    func append(_ records: [SealedRecord]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.line.count })
        for r in records { bytes += r.line }
        let problem: String? = file.withLock { file -> String? in
            if file.fd >= 0, file.size > 0, file.size + Int64(bytes.count) > maxBytes, let problem = rotate(&file) {
                return problem
            }
            guard file.fd >= 0 else { return nil }
            let fd = file.fd
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let problem = String(cString: strerror(errno))
                    // Take back a part-written line (a full disk), so that the
                    // file stays whole lines and a later append starts clean.
                    if offset > 0 {
                        let end = lseek(fd, 0, SEEK_END)
                        if end >= offset { _ = ftruncate(fd, end - off_t(offset)) }
                    }
                    return problem
                }
                offset += n
            }
            file.size += Int64(offset)
            return nil
        }
        if let problem, !failed.exchange(true, ordering: .relaxed) {
            logger.warning("cannot append to the readable audit copy; the spool still has every record",
                           metadata: ["audit.mirror": "\(path)", "audit.error": "\(problem)"])
        }
    }

    /// Moves the full file to `audit.jsonl.1` and starts a new one. When that
    /// fails the copy stops (nothing more is written: the cap holds).
    private func rotate(_ file: inout File) -> String? {
        Foundation.close(file.fd)
        file.fd = -1
        guard rename(path, rotatedPath) == 0 else {
            return "cannot move the full copy to \(rotatedPath): \(String(cString: strerror(errno))); the copy stops"
        }
        let opened = Self.open(path)
        guard opened >= 0 else { return "cannot start a new copy: \(String(cString: strerror(errno))); the copy stops" }
        file = File(fd: opened, size: 0)
        logger.info("the readable audit copy reached audit.jsonl_max_bytes: the previous one is kept as \(rotatedPath)",
                    metadata: ["audit.mirror": "\(path)", "audit.jsonl_max_bytes": "\(maxBytes)"])
        return nil
    }

    func close() {
        file.withLock { file in
            if file.fd >= 0 {
                Foundation.close(file.fd)
                file.fd = -1
            }
        }
    }

    deinit { close() }
}
