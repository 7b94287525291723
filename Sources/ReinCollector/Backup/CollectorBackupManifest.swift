import Foundation
import ReinStore

/// `backup.json`: what a collector backup holds, so that a restore can
/// prove each file is the one written, and a person can see what a restore
/// would bring back before running it.
public struct CollectorBackupManifest: Codable, Sendable, Equatable {
    public static let currentKind = "rein.collector.backup/v1"
    public static let fileName = "backup.json"

    /// One file of the backup.
    public struct File: Codable, Sendable, Equatable {
        /// Its name in the backup directory and in the state directory.
        public var name: String
        public var role: Role
        public var bytes: Int64
        public var sha256: String
    }

    public enum Role: String, Codable, Sendable {
        /// The collector store (`collector.sqlite`, or `database:`).
        case store
        /// The hold ledger (`holds.sqlite`).
        case holds
        /// The key that signs the collector's own chain: a secret.
        case signingKey = "signing-key"
    }

    public var kind: String
    /// RFC 3339, when the store's snapshot was taken (the copy began).
    public var created: String
    public var reinVersion: String
    /// Where it was taken from.
    public var stateDir: String
    public var files: [File]
    public var contents: CollectorStoreContents

    enum CodingKeys: String, CodingKey {
        case kind, created, files, contents
        case reinVersion = "rein_version"
        case stateDir = "state_dir"
    }

    public func file(_ role: Role) -> File? { files.first { $0.role == role } }
}
