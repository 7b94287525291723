import Foundation

/// Why copying a backup to S3 (``BackupCopy``) failed. The local backup is
/// never touched by a failed copy; the next attempt starts over.
public enum BackupCopyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The backup directory or its manifest cannot be read.
    case backup(path: String, reason: String)
    /// A file no longer matches the digest its manifest recorded: damaged since the backup was taken.
    case changed(file: String, reason: String)
    /// The credentials that sign the copy could not be had.
    case credentials(String)
    /// The request did not get an HTTP answer.
    case transport(key: String, message: String)
    /// S3 refused a request: its error code and message, and the request id to give AWS support.
    case refused(key: String, operation: String, status: Int, code: String, message: String, requestId: String?)
    /// The collector is shutting down: the copy stopped between two requests (an open multipart upload was aborted).
    case stopped

    public var description: String {
        switch self {
        case .backup(let path, let reason): "cannot read the backup \(path): \(reason)"
        case .changed(let file, let reason): "\(file) is not the file the backup recorded (\(reason)): it was damaged after the backup was taken; nothing more was copied"
        case .credentials(let message): "no credentials to sign the copy: \(message)"
        case .transport(let key, let message): "sending \(key) failed: \(message)"
        case .stopped: "the copy was stopped by the collector's shutdown; it is made again at the next start"
        case .refused(let key, let operation, let status, let code, let message, let requestId):
            "S3 \(operation) of \(key) answered HTTP \(status) \(code): \(message)\(requestId.map { " (request id \($0))" } ?? "")\(Self.hint(code, operation: operation))"
        }
    }

    /// What an operator should check for the refusals a new setup meets first.
    static func hint(_ code: String, operation: String) -> String {
        switch code {
        case "AccessDenied" where operation == "GetObject": " (restoring from S3 needs s3:GetObject on the prefix, and kms:Decrypt on the key if the copy is SSE-KMS)"
        case "AccessDenied": " (the role needs s3:PutObject on the prefix, and kms:GenerateDataKey and kms:Decrypt on the key if kms_key_id is set: multipart uploads need both)"
        case "NoSuchBucket": " (check backup.copy_to.url)"
        case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException": " (check backup.copy_to.region: it must be the bucket's)"
        case "XAmzContentSHA256Mismatch", "BadDigest": " (the bytes S3 received differ from those read and hashed here)"
        default: ""
        }
    }
}
