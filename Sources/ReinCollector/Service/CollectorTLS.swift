import Foundation
import Logging
import ReinAudit
import ReinTLS
import Synchronization

/// The collector's TLS certificate and key, read again when their files change.
///
/// Why: certificates are renewed under a running service. cert-manager, for
/// example, rewrites a Kubernetes Secret, and the files mounted from it
/// change in place. A collector that kept the first certificate would fail
/// every handshake once it expired. Each new connection takes the current
/// context; open connections keep theirs. A change that does not load (a key
/// that does not match the certificate, a file half written) is logged, and
/// the identity that worked stays, so a botched renewal never takes TLS down.
public final class CollectorTLS: Sendable {
    /// What ``reload(certificateFile:keyFile:force:)`` did.
    public enum Outcome: Sendable, Equatable {
        /// The files are as they were when last read.
        case unchanged
        /// A new certificate is served to new connections from now on.
        case reloaded(notAfter: Date?)
        /// The files changed but do not load; the previous identity stays.
        case failed(String)
    }

    private struct State {
        var certificateFile: String
        var keyFile: String
        var context: TLSServerContext
        var stamps: [FileStamp?]
        /// The stamps of a change that failed to load: not tried again until the files change once more.
        var failedStamps: [FileStamp?]?
    }

    private let state: Mutex<State>
    private let logger: Logger
    /// When ``warnIfExpiring(now:)`` last warned, so that it says so once a day, not every minute.
    private let lastExpiryWarning = Mutex<Date?>(nil)
    /// A certificate that expires sooner than this is warned about.
    public static let expiryWarning: TimeInterval = 14 * 86_400

    /// Loads the identity; a failure stops the start with the reason.
    public init(certificateFile: String, keyFile: String, logger: Logger) throws(CollectorStartError) {
        let stamps = [FileStamp(path: certificateFile), FileStamp(path: keyFile)]
        let context: TLSServerContext
        switch Self.load(certificateFile: certificateFile, keyFile: keyFile) {
        case .success(let loaded): context = loaded
        case .failure(let reason): throw CollectorStartError(reason.description)
        }
        state = Mutex(State(certificateFile: certificateFile, keyFile: keyFile, context: context, stamps: stamps))
        self.logger = logger
    }

    /// The context a new connection uses.
    public var context: TLSServerContext { state.withLock { $0.context } }

    /// When the certificate served now expires.
    public var notAfter: Date? { context.leafNotAfter }

    /// Reads the files again when they changed since the last load (always
    /// with `force`, for SIGHUP), from new paths when given.
    @discardableResult
    public func reload(certificateFile: String? = nil, keyFile: String? = nil, force: Bool = false) -> Outcome {
        let (certificate, key, previous, failed) = state.withLock {
            (certificateFile ?? $0.certificateFile, keyFile ?? $0.keyFile, $0.stamps, $0.failedStamps)
        }
        let stamps = [FileStamp(path: certificate), FileStamp(path: key)]
        if !force, stamps == previous || stamps == failed { return .unchanged }
        switch Self.load(certificateFile: certificate, keyFile: key) {
        case .success(let context):
            state.withLock {
                $0 = State(certificateFile: certificate, keyFile: key, context: context, stamps: stamps, failedStamps: nil)
            }
            logger.notice("TLS certificate loaded: new connections are served with it", metadata: [
                "tls.certificate": "\(certificate)",
                "tls.not_after": "\(context.leafNotAfter.map { AuditRecord.timestamp($0) } ?? "unknown")",
            ])
            return .reloaded(notAfter: context.leafNotAfter)
        case .failure(let reason):
            state.withLock { $0.failedStamps = stamps }
            logger.error("the TLS certificate or key changed but does not load: the previous certificate is still served", metadata: [
                "tls.certificate": "\(certificate)", "error": "\(reason)",
                "tls.not_after": "\(notAfter.map { AuditRecord.timestamp($0) } ?? "unknown")",
            ])
            return .failed(reason.description)
        }
    }

    /// Logs a warning, at most once a day, while the certificate served
    /// expires within ``expiryWarning`` (or has expired): a renewal that
    /// never came (cert-manager stuck, a manual certificate forgotten) is
    /// said weeks before sidecars start failing their handshakes.
    /// Returns the warning when one was logged.
    @discardableResult
    public func warnIfExpiring(now: Date = Date()) -> String? {
        guard let notAfter, notAfter.timeIntervalSince(now) < Self.expiryWarning else { return nil }
        let due = lastExpiryWarning.withLock { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) >= 86_400 }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return nil }
        let left = notAfter.timeIntervalSince(now)
        let message = left > 0
            ? "the TLS certificate expires in \(Int(left / 3600)) hours: renew it (the new files are read within a minute, or at once on SIGHUP)"
            : "the TLS certificate has expired: sidecars and clients refuse it until it is renewed"
        logger.warning("\(message)", metadata: ["tls.not_after": "\(AuditRecord.timestamp(notAfter))"])
        return message
    }

    private static func load(certificateFile: String, keyFile: String) -> Result<TLSServerContext, ReloadFailure> {
        // The server's private key is never world-readable (group read is how
        // Kubernetes fsGroup mounts share a secret with the collector's user).
        do { try SecretFile.check(keyFile, group: .allowed) } catch {
            return .failure(ReloadFailure("tls.key: \(error)"))
        }
        do { return .success(try TLSServerContext(certificateChainFile: certificateFile, privateKeyFile: keyFile)) } catch {
            return .failure(ReloadFailure("tls: \(error)"))
        }
    }

    /// Why the files did not load.
    struct ReloadFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
