import Foundation
import GRDB

/// How Rein's SQLite connections wait for a lock another connection holds:
/// in steps of 50 µs for the first few milliseconds, then of 1 ms, for at
/// most `limit` in all.
///
/// Why not SQLite's own busy timeout: it sleeps 1, 2, 5, 10, 15, 20, 25 ms…
/// between tries, so a lock held for 2 ms costs the waiter 3 ms, and one
/// held for 19 ms costs 33. The lock a spool or collector writer meets is
/// the WAL checkpointer's, which holds it for the last few frames of a
/// log restart (``WALCheckpointer``): a millisecond or two, every few hundred
/// milliseconds. With the stock ladder the spool writer slept 18 to 33 ms at
/// every restart (every caller waiting meanwhile); a short fixed step
/// resumes it one step after the lock comes free (50 µs asked for, about
/// 100–250 µs taken on the 2-core VM, with the kernel's timer slack).
public enum SQLiteBusyWait {
    /// Tries made with the short step before the long one.
    static let shortTries = 100
    static let shortStep: useconds_t = 50
    static let longStep: useconds_t = 1000

    /// A GRDB busy mode that waits as above and gives up after `limit`.
    public static func mode(limit: Duration) -> Database.BusyMode {
        let limitMicros = limit.components.seconds * 1_000_000 + limit.components.attoseconds / 1_000_000_000_000
        return .callback { tries in
            guard waited(beforeTry: tries) < limitMicros else { return false }
            usleep(tries < shortTries ? shortStep : longStep)
            return true
        }
    }

    /// Microseconds slept before try `tries` (0: the first retry), by the schedule above.
    static func waited(beforeTry tries: Int) -> Int64 {
        let short = Int64(min(tries, shortTries)) * Int64(shortStep)
        let long = Int64(max(0, tries - shortTries)) * Int64(longStep)
        return short + long
    }
}
