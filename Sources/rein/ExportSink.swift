import ArgumentParser
import Foundation

/// Where `rein audit export` writes: standard output, or a file that appears
/// only once the export is complete.
///
/// Why a temporary file and a rename: an export cut short (the collector
/// went away, a page failed) must not leave a file that looks like a whole
/// trail, nor replace a good earlier export with half of one.
final class ExportSink {
    private let path: String?
    private let temporary: String?
    private let handle: FileHandle

    init(path: String?) throws {
        self.path = path
        guard let path else {
            temporary = nil
            handle = FileHandle.standardOutput
            return
        }
        let temporary = path + ".partial-\(getpid())"
        // 0600: an audit trail is for its readers only.
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw CommandFailure.failed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        self.temporary = temporary
        self.handle = handle
        Self.removeOnSignal(temporary)
    }

    /// The temporary file's path, for the signal handler (which may only
    /// call async-signal-safe functions: unlink and _exit).
    nonisolated(unsafe) private static var pendingPath: UnsafeMutablePointer<CChar>?

    /// Ctrl-C or a SIGTERM mid-export removes the temporary file too.
    private static func removeOnSignal(_ path: String) {
        pendingPath = strdup(path)
        let handler: @convention(c) (Int32) -> Void = { signal in
            if let path = ExportSink.pendingPath { unlink(path) }
            _exit(128 + signal)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGHUP, handler)
    }

    private static func forgetSignalCleanup() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        signal(SIGHUP, SIG_DFL)
        free(pendingPath)
        pendingPath = nil
    }

    func write(_ bytes: [UInt8]) throws {
        do { try handle.write(contentsOf: bytes) } catch {
            throw CommandFailure.failed("cannot write \(path ?? "standard output"): \(error.localizedDescription)")
        }
    }

    /// The export is whole: the file takes its name (durably).
    func commit() throws {
        guard let path, let temporary else { return }
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            discard()
            throw CommandFailure.failed("cannot write \(path): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw CommandFailure.failed("cannot write \(path): \(reason)")
        }
        Self.forgetSignalCleanup()
    }

    /// The export failed: nothing of it stays behind.
    func discard() {
        guard let temporary else { return }
        try? handle.close()
        unlink(temporary)
        Self.forgetSignalCleanup()
    }
}
