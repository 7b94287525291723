import CReinOpenSSL

/// Comparisons whose running time does not depend on where inputs differ.
/// Signatures, tokens and secrets are only ever compared through this.
public enum ConstantTime {
    /// True when both byte sequences are equal. Unequal lengths return false
    /// at once: lengths of signatures and tokens are not secret.
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return CReinOpenSSL_equal(a.baseAddress, b.baseAddress, a.count) == 1
    }

    public static func equals(_ a: String, _ b: String) -> Bool {
        var x = a, y = b
        return x.withUTF8 { xa in y.withUTF8 { ya in equals(UnsafeRawBufferPointer(xa), UnsafeRawBufferPointer(ya)) } }
    }

    public static func equals(_ a: Digest, _ b: Digest) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in equals(x, y) } }
    }
}
