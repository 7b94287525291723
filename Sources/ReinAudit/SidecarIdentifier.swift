/// What a sidecar id may be: 1 to 128 of `A-Z a-z 0-9 . _ : @ -`, the
/// characters of host, pod and instance names.
///
/// Why so narrow: the id names a chain in the fleet view, logs, reports
/// and exports. Invisible or look-alike characters (a zero-width space, a
/// Cyrillic "с") would let one id pass for another there. Checked by the
/// sidecar at start and by the collector on every route that names one.
public enum SidecarIdentifier {
    public static let maxLength = 128

    /// Why `id` is not a sidecar id, or nil when it is one.
    public static func problem(_ id: String) -> String? {
        guard !id.isEmpty, id.utf8.count <= maxLength else { return "must be 1 to \(maxLength) characters" }
        let ok = id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: ":") || b == UInt8(ascii: "@")
                || b == UInt8(ascii: "-")
        }
        return ok ? nil : "may hold only A-Z a-z 0-9 . _ : @ - (a host or pod name)"
    }
}
