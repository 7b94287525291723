/// SNI host names as Rein accepts them.
///
/// A leaf certificate is minted for whatever name passes here, so the check
/// is strict: LDH host names only (RFC 1123), which covers every AWS
/// endpoint. No wildcards, IP literals, underscores, trailing dots or
/// internationalised names in U-label form.
public enum ServerName {
    /// The longest host name DNS can carry, without a trailing dot.
    public static let maximumLength = 253
    static let maximumLabelLength = 63

    /// The name in lowercase, or an `invalidServerName` error saying what is wrong.
    public static func normalized(_ name: String) throws(TLSError) -> String {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength else {
            throw TLSError(.invalidServerName, "server name must be 1 to \(maximumLength) characters long, got \(bytes.count)")
        }
        var lowered: [UInt8] = []
        lowered.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): lowered.append(byte + 32)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."):
                lowered.append(byte)
            default:
                throw TLSError(.invalidServerName,
                               "server name \(quoted(bytes)) may only contain letters, digits, '-' and '.'")
            }
        }
        let labels = lowered.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty, label.count <= maximumLabelLength else {
                throw TLSError(.invalidServerName,
                               "server name \(quoted(bytes)) has an empty label or one longer than \(maximumLabelLength) characters")
            }
            guard label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else {
                throw TLSError(.invalidServerName, "server name \(quoted(bytes)) has a label that starts or ends with '-'")
            }
        }
        if let last = labels.last, last.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            throw TLSError(.invalidServerName, "server name \(quoted(bytes)) looks like an IP address, not a host name")
        }
        return String(decoding: lowered, as: UTF8.self)
    }

    /// The name for an error message, cut short and with control characters escaped.
    private static func quoted(_ bytes: [UInt8]) -> String {
        "\"" + printable(String(decoding: bytes, as: UTF8.self)) + "\""
    }

    /// A client-supplied name made safe for logs: at most `limit` characters,
    /// everything outside printable ASCII escaped (no forged log lines).
    static func printable(_ name: String, limit: Int = maximumLength) -> String {
        let scalars = name.unicodeScalars
        let shown = scalars.prefix(limit).map { scalar in
            scalar.value >= 0x20 && scalar.value < 0x7f && scalar != "\\" ? String(scalar) : scalar.escaped(asASCII: true)
        }.joined()
        return scalars.count > limit ? shown + "…" : shown
    }
}
