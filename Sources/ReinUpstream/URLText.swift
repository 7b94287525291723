/// A URL as error messages may show it.
///
/// Why: a URL rejected by a configuration check is often rejected for the
/// very part that is secret (a password in its user-info, a token in its
/// query), and the message that names it goes to stderr and logs. The host,
/// port and path stay, so that the operator can tell which setting is meant.
public enum URLText {
    /// `text` with any user-info and query replaced by `…`, at most 200 characters.
    public static func redacted(_ text: String) -> String {
        var out = Substring(text)
        var prefix = ""
        if let scheme = out.range(of: "://") {
            prefix = String(out[..<scheme.upperBound])
            out = out[scheme.upperBound...]
        }
        let authorityEnd = out.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? out.endIndex
        if let at = out[..<authorityEnd].lastIndex(of: "@") {
            out = "…@" + out[out.index(after: at)...]
        }
        if let query = out.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            out = out[..<query] + "?…"
        }
        let whole = prefix + out
        return whole.count > 200 ? String(whole.prefix(200)) + "…" : whole
    }
}
