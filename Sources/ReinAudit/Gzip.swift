import CReinZlib
import Foundation

/// gzip on the system's zlib, for audit batches on the wire.
///
/// Why whole buffers: a batch is capped (by count and bytes) before it is
/// compressed, so streaming would add code without saving memory.
public enum Gzip {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let operation: String
        public var description: String { "gzip \(operation) failed" }
    }

    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws(Failure) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        let ok = bytes.withUnsafeBytes { CReinZlib_gzip($0.baseAddress, $0.count, level, &out, &count) }
        guard ok == 1, let out else { throw Failure(operation: "compression") }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }

    /// Decompresses, refusing output larger than `limit` bytes.
    public static func decompress(_ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        let ok = bytes.withUnsafeBytes { CReinZlib_gunzip($0.baseAddress, $0.count, limit, &out, &count) }
        guard ok == 1 else { throw Failure(operation: "decompression (corrupt input, or more than \(limit) bytes)") }
        guard let out else { return [] }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }
}
