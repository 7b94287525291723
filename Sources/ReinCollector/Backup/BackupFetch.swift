import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ReinBroker
import ReinCrypto
import ReinUpstream

/// Downloads a backup that ``BackupCopy`` put in S3 into a new local
/// directory, so that `rein collector restore [--check]` proves and restores
/// it as it does a local one: the restore drill for the copies off the volume.
///
/// Why ranged GETs: a store of gigabytes is fetched a range at a time into
/// its file, hashed as it arrives, never held in memory. Why the manifest is
/// trusted only so far: it comes from a bucket, so each file name must be a
/// plain name in the directory (no path), and every byte is then checked
/// against its SHA-256, here and again by the restore.
public enum BackupFetch {
    /// Bytes per GET: within the HTTP client's answer limit.
    static let rangeSize = 8 << 20

    /// Fetches `source` (`s3://bucket/prefix/rein-backup-<time>`) into
    /// `directory` (new or empty; made 0700), with the region, endpoint and
    /// credentials of `settings` (the configuration's `backup.copy_to`).
    public static func run(_ source: String, settings: BackupCopyDestination, credentials: BrokerCredentialSource,
                           into directory: String, progress: (CollectorBackupProgress) -> Void) throws(BackupCopyError) -> CollectorBackupManifest {
        guard let (bucket, prefix) = BackupCopyDestination.parse(source), !prefix.isEmpty else {
            throw .backup(path: source, reason: "not s3://bucket/prefix/<backup>, the directory a copy made")
        }
        var place = settings
        place.bucket = bucket
        place.prefix = ""
        let http = settings.httpClient(maxResponseBytes: rangeSize + (64 << 10))
        let requester = S3Requester(destination: place, http: http, credentials: BackupCopy.signingCredentials(credentials))
        let made: Bool
        do { made = try CollectorBackup.prepare(directory) } catch { throw .backup(path: directory, reason: error.description) }
        do throws(BackupCopyError) {
            let manifestKey = prefix + "/" + CollectorBackupManifest.fileName
            let manifestBytes = try requester.send("GET", key: manifestKey, query: nil, headers: [], body: [],
                                                   digest: SHA256.hash([UInt8]()), operation: "GetObject").body
            let manifest: CollectorBackupManifest
            do { manifest = try JSONDecoder().decode(CollectorBackupManifest.self, from: Data(manifestBytes)) } catch {
                throw BackupCopyError.backup(path: "s3://\(bucket)/\(manifestKey)", reason: "not a collector backup's manifest: \(error)")
            }
            guard manifest.kind == CollectorBackupManifest.currentKind else {
                throw BackupCopyError.backup(path: "s3://\(bucket)/\(manifestKey)", reason: "kind \(manifest.kind.debugDescription) is not \(CollectorBackupManifest.currentKind)")
            }
            for file in manifest.files {
                guard isPlainName(file.name), file.name != CollectorBackupManifest.fileName, file.bytes >= 0 else {
                    throw BackupCopyError.backup(path: "s3://\(bucket)/\(manifestKey)", reason: "file name \(file.name.debugDescription) is not a plain name in the backup")
                }
                let started = Date()
                try fetch(requester, key: prefix + "/" + file.name, to: directory + "/" + file.name, bytes: file.bytes, sha256: file.sha256) { got in
                    progress(.copying(name: file.name, written: got, of: file.bytes))
                }
                progress(.copied(name: file.name, bytes: file.bytes, seconds: Date().timeIntervalSince(started)))
            }
            // The manifest last, as on disk and in S3: the directory is a backup once it is there.
            try writeFile(manifestBytes, to: directory + "/" + CollectorBackupManifest.fileName)
            return manifest
        } catch {
            CollectorBackup.discard(directory, made: made)
            throw error
        }
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0") && name.utf8.count <= 255
    }

    /// One object into a new file (0600), a range at a time, checked against `sha256`, synced.
    private static func fetch(_ requester: S3Requester, key: String, to path: String, bytes: Int64, sha256: String,
                              progress: (Int64) -> Void) throws(BackupCopyError) {
        let fd = try create(path)
        defer { close(fd) }
        let hasher = SHA256Hasher()
        var got: Int64 = 0
        repeat {
            let last = min(bytes, got + Int64(rangeSize)) - 1
            let headers = bytes == 0 ? [] : [("Range", "bytes=\(got)-\(last)")]
            let answer = try requester.send("GET", key: key, query: nil, headers: headers, body: [], digest: SHA256.hash([UInt8]()),
                                            operation: "GetObject")
            let expected = bytes == 0 ? 0 : Int(last - got + 1)
            guard answer.body.count == expected, bytes == 0 || answer.status == 206 || (got == 0 && Int64(expected) == bytes) else {
                throw .changed(file: "s3://\(requester.destination.address(of: key).path.dropFirst())",
                               reason: "a GET of bytes \(got)-\(last) answered HTTP \(answer.status) with \(answer.body.count) bytes; the manifest says \(bytes) in all")
            }
            hasher.update(answer.body)
            try append(answer.body, to: fd, path: path)
            got += Int64(answer.body.count)
            progress(got)
        } while got < bytes
        let digest = hasher.finalize()
        guard digest.hex == sha256.lowercased() else {
            throw .changed(file: key, reason: "SHA-256 \(digest.hex), the manifest says \(sha256)")
        }
        try sync(fd, path: path)
    }

    private static func writeFile(_ bytes: [UInt8], to path: String) throws(BackupCopyError) {
        let fd = try create(path)
        defer { close(fd) }
        try append(bytes, to: fd, path: path)
        try sync(fd, path: path)
    }

    /// A new file (never one that exists), 0600: the backup holds the signing key.
    private static func create(_ path: String) throws(BackupCopyError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .backup(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    /// Writes all of `bytes`, however many calls the kernel takes.
    private static func append(_ bytes: [UInt8], to fd: Int32, path: String) throws(BackupCopyError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + done, raw.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .backup(path: path, reason: "writing failed: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    private static func sync(_ fd: Int32, path: String) throws(BackupCopyError) {
        guard fsync(fd) == 0 else { throw .backup(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
    }
}
