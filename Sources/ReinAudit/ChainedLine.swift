import Foundation

/// A shipped record line taken apart: the exact bytes that were hashed, the
/// hash the sidecar claimed, and the decoded record.
///
/// Why cut rather than re-encode: the collector must hash the bytes the
/// sidecar hashed. Re-encoding a decoded record could differ in escaping or
/// number format, so the `"hash"` key, always last and of fixed length, is
/// cut off the end to recover the original line.
public struct ChainedLine: Sendable {
    public let body: [UInt8]
    public let claimedHash: String
    public let record: AuditRecord

    public static let suffixLength = 75 // ,"hash":"<64 hex>"}

    public init<Bytes: Collection>(parsing line: Bytes) throws(AuditLineError) where Bytes.Element == UInt8 {
        var bytes = Array(line)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        claimedHash = try Self.claimedHash(ofLine: bytes)
        body = Array(bytes[..<(bytes.count - Self.suffixLength)]) + [UInt8(ascii: "}"), UInt8(ascii: "\n")]
        do {
            record = try JSONDecoder().decode(AuditRecord.self, from: Data(bytes))
        } catch {
            throw AuditLineError(reason: "not an audit record: \(error)")
        }
        guard record.schema == AuditRecord.schemaVersion else {
            throw AuditLineError(reason: "schema \(record.schema) (expected \(AuditRecord.schemaVersion))")
        }
        try Self.check(sequence: record.sequence)
    }

    /// A sequence outside ``AuditChain/sequences`` makes the line malformed.
    public static func check(sequence: Int64) throws(AuditLineError) {
        guard AuditChain.sequences.contains(sequence) else {
            throw AuditLineError(reason: "sequence \(sequence) is outside 1…\(AuditChain.maxSequence)")
        }
    }

    /// `,"hash":"`, the start of every chained line's suffix.
    private static let hashKey = Array(",\"hash\":\"".utf8)

    /// The hash a chained line (without its newline) claims: the fixed-length
    /// `"hash"` key that ends it. Nothing else of the line is looked at.
    public static func claimedHash(ofLine bytes: [UInt8]) throws(AuditLineError) -> String {
        guard bytes.count > suffixLength + 2 else { throw AuditLineError(reason: "line too short to be a chained audit record") }
        let suffix = bytes[(bytes.count - suffixLength)...]
        guard suffix.starts(with: hashKey), suffix.last == UInt8(ascii: "}"),
              suffix[suffix.endIndex - 2] == UInt8(ascii: "\"") else {
            throw AuditLineError(reason: "the line does not end with its \"hash\" key")
        }
        let hex = suffix.dropFirst(hashKey.count).dropLast(2)
        // One pass over the bytes themselves: this runs for every record the collector ingests.
        let valid = hex.count == 64 && hex.withUnsafeBufferPointer { digits in
            var all = true
            for b in digits { all = all && (b &- 48 < 10 || b &- 97 < 6) }
            return all
        }
        guard valid else { throw AuditLineError(reason: "the hash is not 64 lower-case hex digits") }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The hash the line's bytes actually have.
    public var computedHash: String { AuditChain.hash(of: body) }
}

/// A line that is not a well-formed chained audit record.
public struct AuditLineError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "malformed audit line: \(reason)" }
}
