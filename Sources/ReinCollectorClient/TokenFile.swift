import ReinAudit
import Synchronization

/// A collector token read from its file, and read again when the file
/// changes.
///
/// Why: rotating a sidecar token must not need a restart of every sidecar.
/// The collector takes a new token list on SIGHUP; the sidecar's token
/// file (a Kubernetes Secret) is replaced; the next call carries the new
/// token. The file is stat'ed per call (a few microseconds beside an HTTP
/// exchange) and read only when its stamp changes. A file that cannot be
/// read or is empty mid-rotation leaves the token read last in use, and is
/// tried again at the next call.
final class TokenFile: Sendable {
    let path: String
    private let state: Mutex<(token: String, stamp: FileStamp?)>

    /// Reads the file now: a start with no usable token fails with the reason.
    init(path: String) throws(CollectorClientError) {
        self.path = path
        let stamp = FileStamp(path: path)
        let token = try CollectorClient.token(fromFile: path)
        guard Self.usable(token) else {
            throw CollectorClientError(kind: .configuration, message: "the collector token file \(SecretFile.shown(path)) is empty or spans lines")
        }
        state = Mutex((token, stamp))
    }

    /// The token to send now.
    var token: String {
        let stamp = FileStamp(path: path)
        let (cached, seen) = state.withLock { ($0.token, $0.stamp) }
        guard stamp != seen, stamp != nil else { return cached }
        guard let fresh = try? CollectorClient.token(fromFile: path), Self.usable(fresh) else { return cached }
        state.withLock { $0 = (fresh, stamp) }
        return fresh
    }

    private static func usable(_ token: String) -> Bool {
        !token.isEmpty && !token.contains(where: { $0 == "\r" || $0 == "\n" })
    }
}
