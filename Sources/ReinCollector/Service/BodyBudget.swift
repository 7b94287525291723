import Synchronization

/// Request body bytes being read at once: over every connection, and per token.
///
/// Why per token: bodies are held in memory until they are complete. One
/// token (a compromised sidecar's, say) sending many slow bodies could take
/// the whole budget, and every other sidecar's batches would be refused
/// until those bodies timed out: their spools would fill, and they would
/// refuse their agents' calls. No token may hold more than half of the
/// budget, so the other half always stays for everyone else.
final class BodyBudget: Sendable {
    /// Why a reservation was refused.
    enum Refusal: Equatable {
        /// Every connection together holds the whole budget.
        case total
        /// This token holds its share.
        case token
    }

    let limit: Int
    /// The most one token may hold.
    var perToken: Int { max(1, limit / 2) }
    private let state = Mutex<(total: Int, byToken: [String: Int])>((0, [:]))

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves `size` more bytes for `token`, or says why not (nothing reserved then).
    func reserve(_ size: Int, token: String) -> Refusal? {
        state.withLock { s in
            let mine = s.byToken[token, default: 0] + size
            if s.total + size > limit { return .total }
            if mine > perToken { return .token }
            s.total += size
            s.byToken[token] = mine
            return nil
        }
    }

    func release(_ size: Int, token: String) {
        guard size > 0 else { return }
        state.withLock { s in
            s.total -= size
            let left = s.byToken[token, default: 0] - size
            s.byToken[token] = left > 0 ? left : nil
        }
    }

    /// Bytes held now, over every connection.
    var total: Int { state.withLock { $0.total } }

    /// Bytes `token` holds now.
    func held(by token: String) -> Int { state.withLock { $0.byToken[token, default: 0] } }
}
