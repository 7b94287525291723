import Foundation
import Synchronization

/// Appends one JSON object per line to a file opened with `O_APPEND`.
///
/// Why `fsync` is optional: with `durable` on (the default) every record is
/// on disk before the caller goes on, which is what fail-closed auditing
/// needs; benchmarks may turn it off to measure the request path alone. The
/// file is created with mode 0600 because records name agents and resources.
public final class JSONLAuditSink: AuditSink {
    public let path: String
    private let durable: Bool
    private let fd: Mutex<Int32>

    public init(path: String, durable: Bool = true) throws(AuditSinkError) {
        self.path = path
        self.durable = durable
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard opened >= 0 else {
            throw AuditSinkError(path: path, message: String(cString: strerror(errno)))
        }
        fd = Mutex(opened)
    }

    public func record(_ record: AuditRecord) throws(AuditSinkError) {
        let line: [UInt8]
        do { line = try record.jsonLine() } catch {
            throw AuditSinkError(path: path, message: "cannot encode the record: \(error)")
        }
        let failure: String? = fd.withLock { fd -> String? in
            guard fd >= 0 else { return "the sink is closed" }
            var offset = 0
            while offset < line.count {
                let n = line.withUnsafeBytes { write(fd, $0.baseAddress! + offset, line.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += n
            }
            if durable, fsync(fd) != 0 { return String(cString: strerror(errno)) }
            return nil
        }
        if let failure { throw AuditSinkError(path: path, message: failure) }
    }

    public func close() {
        fd.withLock { fd in
            if fd >= 0 {
                fsync(fd)
                Foundation.close(fd)
                fd = -1
            }
        }
    }

    deinit { close() }
}
