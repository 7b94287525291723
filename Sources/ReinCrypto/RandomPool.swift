import CReinOpenSSL
import Synchronization

/// Random bytes drawn from OpenSSL's DRBG a few kilobytes at a time and
/// handed out in small pieces, for identifiers made on every request (audit
/// record ids).
///
/// Why: one `RAND_bytes` call costs about a microsecond here (provider
/// lookup, locks, a fork check) whatever its size, which was a third of
/// building an audit record. The bytes are exactly as random; they only
/// wait in memory until used, so this is for identifiers, never for keys
/// or tokens (those use ``CryptoLibrary/randomBytes(count:)``).
public final class RandomPool: Sendable {
    public static let shared = RandomPool()

    private static let size = 4096
    private let state = Mutex<(bytes: [UInt8], used: Int)>(([], RandomPool.size))

    public init() {}

    /// Fills `buffer` (at most 256 bytes) with fresh random bytes.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        let count = buffer.count
        precondition(count <= 256, "RandomPool hands out at most 256 bytes at a time")
        state.withLock { s in
            if s.used + count > s.bytes.count {
                if s.bytes.isEmpty { s.bytes = [UInt8](repeating: 0, count: Self.size) }
                let ok = s.bytes.withUnsafeMutableBytes { CReinOpenSSL_random($0.baseAddress, $0.count) }
                precondition(ok == 1, "OpenSSL's random generator failed")
                s.used = 0
            }
            let start = s.used
            s.used += count
            s.bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<start + count])) }
        }
    }
}
