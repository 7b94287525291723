import Foundation
import ReinBroker
import ReinCrypto
import ReinSigV4
import ReinUpstream

/// Puts one file into S3 over libcurl, signed with SigV4: one PUT for a
/// file up to a part, a multipart upload for a larger one.
///
/// Why each request signs its body's SHA-256 (not `UNSIGNED-PAYLOAD`): S3
/// then refuses any body that differs from what was read and hashed here,
/// so a copy is whole or refused. The file's digest is checked against the
/// manifest as it is read; a file damaged since the backup is never
/// completed in S3 (a multipart upload is aborted, a single PUT not sent).
/// Memory: one part at a time (16 MiB by default).
struct S3Uploader: Sendable {
    var requester: S3Requester
    var destination: BackupCopyDestination { requester.destination }

    /// Uploads `path` as `key`; `sha256` is the manifest's hex digest of the whole file.
    /// - Returns: the object's ETag.
    func upload(path: String, key: String, bytes: Int64, sha256: String,
                progress: (_ sent: Int64) -> Void) throws(BackupCopyError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .backup(path: path, reason: "cannot open it for reading")
        }
        defer { try? handle.close() }
        if bytes <= Int64(destination.partSize) {
            let body = try read(handle, upTo: Int(bytes), path: path)
            guard body.count == bytes else { throw .changed(file: path, reason: "\(body.count) bytes, the manifest says \(bytes)") }
            let digest = SHA256.hash(body)
            guard digest.hex == sha256.lowercased() else {
                throw .changed(file: path, reason: "SHA-256 \(digest.hex), the manifest says \(sha256)")
            }
            var headers = encryptionHeaders
            headers.append(("Content-Type", "application/octet-stream"))
            // S3 keeps this digest with the object: `head-object --checksum-mode ENABLED` shows the manifest's SHA-256.
            headers.append(("x-amz-sdk-checksum-algorithm", "SHA256"))
            headers.append(("x-amz-checksum-sha256", Data(digest.array).base64EncodedString()))
            let response = try requester.send("PUT", key: key, query: nil, headers: headers, body: body, digest: digest, operation: "PutObject")
            progress(bytes)
            return response.header("ETag") ?? ""
        }
        return try multipart(handle, path: path, key: key, bytes: bytes, sha256: sha256, progress: progress)
    }

    private var encryptionHeaders: [(String, String)] {
        guard let kms = destination.kmsKeyId else { return [] }
        return [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", kms)]
    }

    private func multipart(_ handle: FileHandle, path: String, key: String, bytes: Int64, sha256: String,
                           progress: (Int64) -> Void) throws(BackupCopyError) -> String {
        // Each part carries its SHA-256 too: S3 checks it, and buckets with Object Lock require a checksum on every part.
        let created = try requester.send("POST", key: key, query: "uploads",
                                         headers: encryptionHeaders + [("Content-Type", "application/octet-stream"), ("x-amz-checksum-algorithm", "SHA256")],
                                         body: [], digest: SHA256.hash([UInt8]()), operation: "CreateMultipartUpload")
        guard let uploadId = MiniXML.element("UploadId", in: created.bodyText[...]).map(MiniXML.unescape), !uploadId.isEmpty else {
            throw .refused(key: key, operation: "CreateMultipartUpload", status: created.status, code: "(no UploadId)",
                           message: "the answer carries no UploadId", requestId: created.header("x-amz-request-id"))
        }
        let idQuery = "uploadId=" + URIEncoding.encode(uploadId)
        let partSize = Self.partSize(for: bytes, configured: destination.partSize)
        do throws(BackupCopyError) {
            let whole = SHA256Hasher()
            var parts: [(number: Int, etag: String, checksum: String)] = []
            var sent: Int64 = 0
            while sent < bytes {
                let size = Int(min(Int64(partSize), bytes - sent))
                let body = try read(handle, upTo: size, path: path)
                guard body.count == size else { throw .changed(file: path, reason: "it ended at \(sent + Int64(body.count)) bytes, the manifest says \(bytes)") }
                whole.update(body)
                let number = parts.count + 1
                let partDigest = SHA256.hash(body)
                let checksum = Data(partDigest.array).base64EncodedString()
                // Content-Type named, or libcurl sends its form content type and a server may parse the part as a form.
                let answer = try requester.send("PUT", key: key, query: "partNumber=\(number)&" + idQuery,
                                                headers: [("Content-Type", "application/octet-stream"), ("x-amz-checksum-sha256", checksum)],
                                                body: body, digest: partDigest, operation: "UploadPart")
                guard let etag = answer.header("ETag") else {
                    throw .refused(key: key, operation: "UploadPart", status: answer.status, code: "(no ETag)",
                                   message: "part \(number) was answered without an ETag", requestId: answer.header("x-amz-request-id"))
                }
                parts.append((number, etag, checksum))
                sent += Int64(size)
                progress(sent)
            }
            let digest = whole.finalize()
            guard digest.hex == sha256.lowercased() else {
                throw .changed(file: path, reason: "SHA-256 \(digest.hex), the manifest says \(sha256)")
            }
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for part in parts {
                xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(MiniXML.escape(part.etag))</ETag>"
                    + "<ChecksumSHA256>\(part.checksum)</ChecksumSHA256></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let body = Array(xml.utf8)
            let done = try requester.send("POST", key: key, query: idQuery, headers: [("Content-Type", "application/xml")], body: body,
                                          digest: SHA256.hash(body), operation: "CompleteMultipartUpload")
            return MiniXML.element("ETag", in: done.bodyText[...]).map(MiniXML.unescape) ?? ""
        } catch {
            // Parts of an upload never completed are billed until aborted.
            _ = try? requester.send("DELETE", key: key, query: idQuery, headers: [], body: [], digest: SHA256.hash([UInt8]()),
                                    operation: "AbortMultipartUpload")
            throw error
        }
    }

    /// S3 takes at most 10,000 parts: a file larger than that many configured
    /// parts goes up in larger ones (whole MiB), rather than failing at part 10,001.
    static func partSize(for bytes: Int64, configured: Int) -> Int {
        let needed = (bytes + 9_999) / 10_000
        guard needed > Int64(configured) else { return configured }
        return Int(((needed + (1 << 20) - 1) >> 20) << 20)
    }

    private func read(_ handle: FileHandle, upTo count: Int, path: String) throws(BackupCopyError) -> [UInt8] {
        do {
            return Array(try handle.read(upToCount: count) ?? Data())
        } catch {
            throw .backup(path: path, reason: "reading failed: \(error.localizedDescription)")
        }
    }
}
