import ReinCrypto

/// What an error about an unverified request may repeat of it.
///
/// Why: these errors reach the agent and the audit record (its reason and
/// `access_key_id`) before any signature is checked, and what stands where
/// an access key id belongs is sometimes a secret: an agent that swapped
/// its key id and secret key, or a token pasted as the scheme. An access
/// key id has a known shape (upper-case letters and digits); anything else
/// is described, not repeated.
public enum EchoText {
    /// `id` when it has an access key id's shape, else nil.
    public static func accessKeyId(_ id: String) -> String? {
        (16...128).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) } ? id : nil
    }

    /// `id` as an error may show it.
    public static func shownAccessKeyId(_ id: String) -> String {
        accessKeyId(id) ?? "(not an access key id: \(id.count) characters)"
    }

    /// `text` (a message another service answered) with every token-like run
    /// (``TokenShape``) replaced by its length.
    /// Why: AWS's messages carry none, but an endpoint or a proxy that
    /// echoes the request puts the web identity token, a session token or an
    /// authorization token into the text Rein logs and shows in `/readyz`.
    /// ARNs, role paths and request ids keep their separators or their one
    /// case, and stay.
    public static func withoutLongTokens(_ text: String) -> String {
        var out = ""
        var run = ""
        func flush() {
            out += TokenShape.isTokenLike(run) ? "…(\(run.count) characters)" : run
            run = ""
        }
        for c in text {
            if TokenShape.isTokenCharacter(c) { run.append(c) } else { flush(); out.append(c) }
        }
        flush()
        return out
    }

    /// A short word (an authorization scheme) as an error may show it.
    public static func word(_ text: Substring) -> String {
        text.count <= 24 && text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) ? "'\(text)'" : "(\(text.count) characters)"
    }
}
