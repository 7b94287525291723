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
final class AuditMirror: Sendable {
    let path: String
    private let fd: Mutex<Int32>
    private let logger: Logger
    private let failed = Atomic<Bool>(false)

    init(path: String, logger: Logger) throws(SidecarStartError) {
        self.path = path
        self.logger = logger
        let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard opened >= 0 else {
            throw SidecarStartError("cannot open the audit copy \(path): \(String(cString: strerror(errno)))")
        }
        fd = Mutex(opened)
    }

    /// Appends the records' lines with one write (best effort).
    func append(_ records: [SealedRecord]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.line.count })
        for r in records { bytes += r.line }
        let problem: String? = fd.withLock { fd -> String? in
            guard fd >= 0 else { return nil }
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
            return nil
        }
        if let problem, !failed.exchange(true, ordering: .relaxed) {
            logger.warning("cannot append to the readable audit copy; the spool still has every record",
                           metadata: ["audit.mirror": "\(path)", "audit.error": "\(problem)"])
        }
    }

    func close() {
        fd.withLock { fd in
            if fd >= 0 {
                Foundation.close(fd)
                fd = -1
            }
        }
    }

    deinit { close() }
}
