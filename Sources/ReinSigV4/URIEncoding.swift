/// SigV4's URI encoding: every byte except the unreserved set
/// `A-Z a-z 0-9 - _ . ~` becomes `%XX` with upper-case hex.
public enum URIEncoding {
    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The unreserved-character table, indexed by byte.
    private static let unreserved: [Bool] = (0..<256).map { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
    }

    @inline(__always)
    static func appendEncoded(_ b: UInt8, into out: inout [UInt8]) {
        if unreserved[Int(b)] {
            out.append(b)
        } else {
            out.append(UInt8(ascii: "%"))
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
    }

    /// Encodes raw bytes once. `%` itself is encoded, so an already-encoded
    /// path comes out double-encoded, as SigV4 wants for non-S3 services.
    static func encode<S: Sequence>(_ bytes: S, keepSlash: Bool, into out: inout [UInt8]) where S.Element == UInt8 {
        for b in bytes {
            if keepSlash && b == UInt8(ascii: "/") { out.append(b) } else { appendEncoded(b, into: &out) }
        }
    }

    /// Percent-encodes a string for use in a query or path (no `/` kept).
    public static func encode(_ s: String, keepSlash: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        encode(s.utf8, keepSlash: keepSlash, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes escapes, then encodes once: the form AWS compares against.
    /// A client's `%7E` and `~` canonicalise alike, and raw bytes such as a
    /// space or UTF-8 are encoded. An escaped `/` (`%2F`) stays escaped when
    /// `keepSlash` is set, so that it never turns into a path separator.
    static func reencode<S: Collection>(_ raw: S, keepSlash: Bool, into out: inout [UInt8]) where S.Element == UInt8 {
        var i = raw.startIndex
        while i != raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "%") {
                let h1 = raw.index(after: i)
                if h1 != raw.endIndex {
                    let h2 = raw.index(after: h1)
                    if h2 != raw.endIndex, let hi = hexValue(raw[h1]), let lo = hexValue(raw[h2]) {
                        appendEncoded(hi << 4 | lo, into: &out)
                        i = raw.index(after: h2)
                        continue
                    }
                }
                appendEncoded(b, into: &out)
            } else if keepSlash && b == UInt8(ascii: "/") {
                out.append(b)
            } else {
                appendEncoded(b, into: &out)
            }
            i = raw.index(after: i)
        }
    }

    /// Decodes `%XX` escapes; invalid escapes are kept literally. `+` stays `+`.
    public static func decode<S: StringProtocol>(_ s: S) -> String {
        let utf8 = Array(s.utf8)
        guard utf8.contains(UInt8(ascii: "%")) else { return String(s) }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
               let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// RFC 3986 dot-segment removal, plus the collapsing of empty segments
    /// that AWS services (other than S3) apply. Mirrors botocore exactly.
    public static func normalizePath(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = (path.hasSuffix("/") && !output.isEmpty) ? "/" : ""
        return first + output.joined(separator: "/") + last
    }
}
