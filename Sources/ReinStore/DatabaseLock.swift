import CReinPosix
import Foundation
import Synchronization

/// One process per database: an exclusive lock on `<database>.lock`, taken
/// before a spool, a holds ledger or the collector store opens its
/// database, and held until it closes (or the process ends).
///
/// Why: SQLite lets any number of processes write one database, but Rein's
/// owners keep state beside it in memory. A spool's writer holds the chain
/// head, so a second sidecar on the same spool would fork the hash chain,
/// and on opening it would seal the first one's live intents as the leftovers
/// of a crash. A second collector on one store would verify chains against
/// heads it had not written and fork the collector's own event chain, and a
/// second holds ledger would deliver the first one's pending events again.
/// Readers (an operator's `sqlite3`, `rein collector backup`) take no lock:
/// WAL gives them a consistent snapshot beside the running owner.
///
/// A `flock` on a file of its own, not SQLite's locks on the database: it
/// belongs to its open file description, so no descriptor closed elsewhere
/// can drop it, and the kernel releases it when the process dies however it
/// dies, so a crash never leaves a stale lock behind. The holder writes its
/// process id into the file, for the error a second process gets.
public final class DatabaseLock: Sendable {
    /// Why the lock could not be taken.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// What the lock guards: a database's path, or "the state directory …".
        public let guarded: String
        public let lockPath: String
        /// The process holding it, when it wrote its id.
        public let holder: Int32?
        /// Not held elsewhere: the lock file could not be opened or locked.
        public let reason: String?

        public var description: String {
            if let reason { return "cannot lock \(lockPath): \(reason)" }
            let who = holder.map { "another process (pid \($0))" } ?? "another process"
            return "\(guarded) is in use by \(who), which holds \(lockPath): "
                + "two processes must not write it at once; stop the other one, or give this one a state_dir of its own"
        }
    }

    public let lockPath: String
    private let fd: Mutex<Int32>

    /// Takes the lock for the database at `databasePath` (`<database>.lock`).
    public convenience init(databasePath: String) throws(Failure) {
        try self.init(lockPath: databasePath + ".lock", guarding: databasePath)
    }

    /// Takes the lock at `lockPath`, creating the file (0600) if needed;
    /// throws at once when another process holds it. `guarded` names what
    /// it guards in the error another process gets.
    public init(lockPath: String, guarding guarded: String) throws(Failure) {
        self.lockPath = lockPath
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(guarded: guarded, lockPath: lockPath, holder: nil, reason: String(cString: strerror(errno)))
        }
        guard CReinPosix_lockExclusive(descriptor) == 0 else {
            let code = errno
            let holder = code == EWOULDBLOCK ? Self.holder(descriptor) : nil
            close(descriptor)
            throw Failure(guarded: guarded, lockPath: lockPath, holder: holder,
                          reason: code == EWOULDBLOCK ? nil : String(cString: strerror(code)))
        }
        // Best effort: the id only improves the message a second process gets.
        let id = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 {
            _ = id.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        fd = Mutex(descriptor)
    }

    deinit { release() }

    /// Lets the lock go (idempotent). The file stays: removing it would let
    /// a process that opened it just before lock a file nobody else sees.
    public func release() {
        fd.withLock { descriptor in
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
    }

    /// The process id the holder wrote, if it is there.
    private static func holder(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
