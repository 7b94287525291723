import Foundation
import Logging
import ReinBroker
import ReinCrypto
import ReinSigV4
import ReinStore
import ReinUpstream

/// Copies one whole backup directory to `backup.copy_to` (S3), and writes
/// `copy.json` beside its manifest once every object is in.
///
/// Why `backup.json` goes last: a backup in S3 is then complete exactly
/// when its manifest is there, as on disk (``BackupJob/backups(in:)``), and
/// `rein collector restore --check` on a downloaded copy proves each file
/// against it. Why a receipt on disk: the job copies a backup once, and a
/// collector restarted mid-copy knows to copy it again.
public enum BackupCopy {
    public static let receiptName = "copy.json"

    /// What was copied where: written into the backup directory after the last object.
    public struct Receipt: Codable, Sendable, Equatable {
        public static let currentKind = "rein.collector.backup-copy/v1"
        public struct Object: Codable, Sendable, Equatable {
            public var key: String
            public var bytes: Int64
            public var sha256: String
            public var etag: String
        }
        public var kind: String
        /// `s3://bucket/prefix/`.
        public var destination: String
        /// RFC 3339, when the last object went in.
        public var copied: String
        public var objects: [Object]
    }

    /// The credentials provider chain the destination names, with a cache
    /// (no refresh thread: a copy asks when it needs them).
    public static func credentialSource(for destination: BackupCopyDestination, environment: [String: String],
                                        http: HTTPClient, logger: Logger) throws(BackupCopyError) -> BrokerCredentialSource {
        do {
            let provider = try BrokerChainFactory.make(destination.credentials, context: BrokerContext(agentId: "collector", taskId: "backup"),
                                                       env: environment, http: http)
            return BrokerCredentialSource(provider: provider, logger: logger)
        } catch {
            throw .credentials(error.description)
        }
    }

    /// Copies `directory` (a complete backup) under `destination`'s prefix, as `<prefix>/<directory's name>/<file>`.
    public static func run(_ directory: String, to destination: BackupCopyDestination, credentials source: BrokerCredentialSource,
                           http: HTTPClient, now: @Sendable () -> Date = { Date() }, shouldStop: @escaping @Sendable () -> Bool = { false },
                           progress: (CollectorBackupProgress) -> Void) throws(BackupCopyError) -> Receipt {
        let manifestPath = directory + "/" + CollectorBackupManifest.fileName
        let manifestBytes: [UInt8]
        let manifest: CollectorBackupManifest
        do {
            manifestBytes = Array(try Data(contentsOf: URL(fileURLWithPath: manifestPath)))
            manifest = try JSONDecoder().decode(CollectorBackupManifest.self, from: Data(manifestBytes))
        } catch {
            throw .backup(path: manifestPath, reason: "\(error)")
        }
        guard manifest.kind == CollectorBackupManifest.currentKind else {
            throw .backup(path: manifestPath, reason: "kind \(manifest.kind.debugDescription) is not \(CollectorBackupManifest.currentKind)")
        }
        var requester = S3Requester(destination: destination, http: http, credentials: signingCredentials(source))
        requester.shouldStop = shouldStop
        let uploader = S3Uploader(requester: requester)
        let name = URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent
        let files = manifest.files.map { ($0.name, $0.bytes, $0.sha256) }
            + [(CollectorBackupManifest.fileName, Int64(manifestBytes.count), SHA256.hash(manifestBytes).hex)]
        var objects: [Receipt.Object] = []
        for (file, bytes, sha256) in files {
            let key = destination.key(backup: name, file: file)
            let started = Date()
            progress(.copying(name: file, written: 0, of: bytes))
            let etag = try uploader.upload(path: directory + "/" + file, key: key, bytes: bytes, sha256: sha256) { sent in
                progress(.copying(name: file, written: sent, of: bytes))
            }
            progress(.copied(name: file, bytes: bytes, seconds: Date().timeIntervalSince(started)))
            objects.append(Receipt.Object(key: key, bytes: bytes, sha256: sha256, etag: etag))
        }
        let receipt = Receipt(kind: Receipt.currentKind, destination: destination.url, copied: RFC3339Time.string(milliseconds: Int64(now().timeIntervalSince1970 * 1000)), objects: objects)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(receipt).write(to: URL(fileURLWithPath: directory + "/" + receiptName), options: .atomic)
        } catch {
            throw .backup(path: directory, reason: "the copy is complete but \(receiptName) could not be written: \(error)")
        }
        return receipt
    }

    /// The cached credentials, or fetched ones when they are missing or expire.
    static func signingCredentials(_ source: BrokerCredentialSource) -> @Sendable () throws(BackupCopyError) -> AWSCredentials {
        { () throws(BackupCopyError) -> AWSCredentials in
            if let cached = source.current() { return cached.credentials }
            do throws(BrokerError) { return try source.refreshNow().credentials } catch { throw .credentials(error.description) }
        }
    }

    /// The receipt of an earlier copy of `directory` to `destination`, if any.
    public static func receipt(in directory: String, for destination: BackupCopyDestination) -> Receipt? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + receiptName),
              let receipt = try? JSONDecoder().decode(Receipt.self, from: data),
              receipt.destination == destination.url
        else { return nil }
        return receipt
    }
}
