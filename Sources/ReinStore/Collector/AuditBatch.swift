import Foundation
import ReinAudit
import ReinCrypto

/// One sidecar's shipped batch, parsed: record lines and checkpoint lines in
/// chain order, as `POST /v1/audit/batches` carries them.
///
/// Why parse outside the store: parsing and hashing are the costly part of
/// ingest and need no database, so the collector does them on any thread
/// while the single SQLite writer stores the previous batch.
public struct AuditBatch: Sendable {
    public enum Item: Sendable {
        case record(IngestRecord)
        /// A checkpoint and its line as shipped.
        case checkpoint(AuditCheckpoint, line: [UInt8])
    }

    /// The sidecar the batch is from (the `X-Rein-Sidecar-Id` header).
    public let sidecarId: String
    public let items: [Item]
    /// The records' zone values and rollup keys, numbered here, where the
    /// batch is built, rather than on the store's single writer thread.
    let keys: IngestKeys

    public init(sidecarId: String, items: [Item]) {
        self.sidecarId = sidecarId
        self.items = items
        keys = IngestKeys(records: items.lazy.compactMap { if case .record(let r) = $0 { r } else { nil } })
    }

    public var records: [IngestRecord] {
        items.compactMap { if case .record(let r) = $0 { r } else { nil } }
    }

    /// Parses NDJSON: one record or checkpoint per line; blank lines are skipped.
    ///
    /// - Throws: ``AuditBatchError`` naming the first malformed line (1-based).
    public static func parse(ndjson body: [UInt8], sidecarId: String) throws(AuditBatchError) -> AuditBatch {
        var items: [Item] = []
        items.reserveCapacity(body.count / 700 + 1)
        var lineNumber = 0
        var start = 0
        let hasher = SHA256Hasher()
        while start < body.count {
            let end = Self.endOfLine(body, from: start)
            lineNumber += 1
            let slice = body[start..<end]
            start = end + 1
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            items.append(try item(slice, lineNumber: lineNumber, hasher: hasher))
        }
        return AuditBatch(sidecarId: sidecarId, items: items)
    }

    /// The index of the next newline at or after `start` (memchr: the
    /// generic search costs a visible share of ingest), or the end.
    private static func endOfLine(_ body: [UInt8], from start: Int) -> Int {
        body.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress, start < p.count,
                  let hit = memchr(base + start, 0x0A, p.count - start) else { return p.count }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    private static let hashMarker = Array(",\"hash\":\"".utf8)

    /// A record line ends with its `"hash"` key; anything else must be a checkpoint.
    private static func item(_ slice: ArraySlice<UInt8>, lineNumber: Int, hasher: SHA256Hasher) throws(AuditBatchError) -> Item {
        var trimmed = slice
        while let last = trimmed.last, last == 0x20 || last == 0x09 || last == 0x0D { trimmed.removeLast() }
        let looksLikeRecord = trimmed.count > ChainedLine.suffixLength
            && trimmed[(trimmed.endIndex - ChainedLine.suffixLength)...].starts(with: hashMarker)
        if looksLikeRecord {
            do {
                return .record(try IngestRecord(line: trimmed, hasher: hasher))
            } catch {
                throw AuditBatchError(line: lineNumber, reason: error.reason)
            }
        }
        let checkpoint: AuditCheckpoint
        do {
            checkpoint = try JSONDecoder().decode(AuditCheckpoint.self, from: Data(trimmed))
        } catch {
            throw AuditBatchError(line: lineNumber, reason: "neither a chained audit record (it does not end with its \"hash\" key) nor a checkpoint: \(error)")
        }
        guard checkpoint.schema == AuditCheckpoint.schemaVersion else {
            throw AuditBatchError(line: lineNumber, reason: "checkpoint schema \(checkpoint.schema) (expected \(AuditCheckpoint.schemaVersion))")
        }
        return .checkpoint(checkpoint, line: Array(trimmed))
    }
}
