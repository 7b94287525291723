#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX file operations the CA needs, done so that a private key
/// is never readable by anyone else, not even for a moment: created with
/// `O_EXCL` and mode 0600, and checked with `fstat` on the descriptor that
/// is then read (no check-then-open race).
enum SecureFile {
    /// Creates `path` and any missing parents with mode 0700, then refuses a
    /// directory that group or others could write (they could swap the CA).
    static func ensureDirectory(_ path: String) throws(TLSError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? String(component) : "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                // An existing parent can still fail with EACCES or EROFS; only a missing one matters.
                let error = failure("could not create directory \(prefix)")
                var info = stat()
                guard stat(prefix, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw error }
            }
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("could not inspect directory \(path)") }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw TLSError(.fileSystem, "\(path) exists and is not a directory")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw TLSError(.insecureDirectory,
                           "CA directory \(path) has mode \(octal(info.st_mode)) and is writable by group or others; run `chmod 700 \(path)`")
        }
    }

    /// True when something (even a dangling symlink) is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Reads a private key file, refusing one that group or others can access.
    static func readPrivate(_ path: String) throws(TLSError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw failure("could not open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("could not inspect \(path)") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw TLSError(.fileSystem, "\(path) is not a regular file") }
        guard info.st_mode & 0o077 == 0 else {
            throw TLSError(.insecureKeyFile,
                           "CA key \(path) has mode \(octal(info.st_mode)): group or others can access it. "
                           + "Run `chmod 600 \(path)`, or delete the CA directory to create a new CA")
        }
        return try readAll(fd, path: path)
    }

    /// Reads a public file (the CA certificate).
    static func readPublic(_ path: String) throws(TLSError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("could not open \(path)") }
        defer { close(fd) }
        return try readAll(fd, path: path)
    }

    /// Creates `path` with exactly `mode`; fails with `EEXIST` semantics if it exists.
    /// Returns false (and writes nothing) when the file already exists.
    static func createExclusive(_ path: String, mode: mode_t, contents: UnsafeRawBufferPointer) throws(TLSError) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd < 0 && errno == EEXIST { return false }
        guard fd >= 0 else { throw failure("could not create \(path)") }
        do throws(TLSError) {
            // The umask can only clear bits; set the exact mode regardless.
            guard fchmod(fd, mode) == 0 else { throw failure("could not set the mode of \(path)") }
            try writeAll(fd, contents, path: path)
            guard fsync(fd) == 0 else { throw failure("could not sync \(path)") }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
        return true
    }

    /// Writes `path` atomically (temporary file, then rename) with `mode`.
    static func replace(_ path: String, mode: mode_t, contents: [UInt8]) throws(TLSError) {
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let created = try contents.withUnsafeBytes { bytes in
            Result { () throws(TLSError) -> Bool in try createExclusive(temporary, mode: mode, contents: bytes) }
        }.get()
        guard created else { throw TLSError(.fileSystem, "temporary file \(temporary) already exists") }
        guard rename(temporary, path) == 0 else {
            let error = failure("could not rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
    }

    private static func readAll(_ fd: Int32, path: String) throws(TLSError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw failure("could not read \(path)") }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
            guard result.count <= 1 << 20 else { throw TLSError(.fileSystem, "\(path) is larger than 1 MiB") }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("could not write \(path)") }
            offset += n
        }
    }

    private static func failure(_ what: String) -> TLSError {
        TLSError(.fileSystem, "\(what): \(String(cString: strerror(errno)))")
    }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode & 0o777, radix: 8)
    }
}
