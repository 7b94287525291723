import Foundation
import ReinCrypto

/// How an ``AuditSpool`` stores, caps and checkpoints a sidecar's records.
///
/// Why the defaults: 256 MiB holds a few hundred thousand records (hours of
/// a busy agent with the collector away) while staying far from filling a
/// container's disk; a checkpoint every 1,000 records or 60 seconds bounds
/// how much history an attacker with the disk could rewrite unsigned.
public struct AuditSpoolConfiguration: Sendable {
    /// The SQLite file (created with mode 0600; its directory 0700).
    public var path: String
    /// The sidecar whose chain this is: every checkpoint names it.
    public var sidecarId: String
    /// Signs checkpoints; its public half is registered with the collector.
    public var signingKey: Ed25519PrivateKey
    /// `synchronous = FULL` (a commit survives power loss) when true; NORMAL
    /// (survives a process crash, not power loss) when false, for benchmarks.
    public var fullSync: Bool
    /// The cap on stored line bytes (records, checkpoints and intents).
    public var maxBytes: Int64
    /// Opt-in loss: when full, drop (count and log) instead of refusing.
    public var dropWhenFull: Bool
    /// Sign a checkpoint after this many records...
    public var checkpointEveryRecords: Int
    /// ...or after this long, whichever comes first, when the head moved.
    public var checkpointInterval: Duration
    /// The most operations committed in one transaction.
    public var maxGroupSize: Int
    /// The wall clock for checkpoint times (injected by tests).
    public var now: @Sendable () -> Date
    /// Called on the writer thread for every group of operations it takes;
    /// must be cheap. The sidecar tells its CPU latency hold
    /// (`cpu_latency_qos`) here that calls are arriving.
    public var onBusy: (@Sendable () -> Void)?

    public init(path: String, sidecarId: String, signingKey: Ed25519PrivateKey, fullSync: Bool = true,
                maxBytes: Int64 = 256 << 20, dropWhenFull: Bool = false, checkpointEveryRecords: Int = 1000,
                checkpointInterval: Duration = .seconds(60), maxGroupSize: Int = 1024, now: @escaping @Sendable () -> Date = { Date() },
                onBusy: (@Sendable () -> Void)? = nil) {
        self.path = path
        self.sidecarId = sidecarId
        self.signingKey = signingKey
        self.fullSync = fullSync
        self.maxBytes = maxBytes
        self.dropWhenFull = dropWhenFull
        self.checkpointEveryRecords = checkpointEveryRecords
        self.checkpointInterval = checkpointInterval
        self.maxGroupSize = maxGroupSize
        self.now = now
        self.onBusy = onBusy
    }
}
