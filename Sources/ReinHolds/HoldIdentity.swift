import ReinCrypto

/// The identity of a held request, and the short ids people use.
///
/// Why these parts: a retry must attach to the same hold, and an SDK
/// re-signs every attempt (a new `X-Amz-Date`, signature, and `amz-sdk-*`
/// headers), so the key leaves out everything signing or retrying changes
/// and keeps what the call does: the agent and task, the actions and
/// resources, the method, host, path and query (without the presigning
/// parameters) and the payload hash. Two different calls never share a key;
/// the same call retried always does.
public enum HoldIdentity {
    /// Query parameters that signing adds (presigned URLs).
    static let signingParameters: Set<String> = [
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
        "x-amz-signature", "x-amz-security-token",
    ]

    /// The hex SHA-256 key of a request.
    public static func key(agentId: String, taskId: String, grants: [HoldGrantItem], method: String, host: String?,
                           path: String, query: [(name: String, value: String)], payloadHash: String) -> String {
        var parts: [String] = ["rein.hold/v1", agentId, taskId, method.uppercased(), (host ?? "").lowercased(), path]
        let kept = query.filter { !signingParameters.contains($0.name.lowercased()) }
            .map { "\($0.name)=\($0.value)" }.sorted()
        parts.append(kept.joined(separator: "&"))
        parts.append(payloadHash.lowercased())
        for g in grants.sorted(by: { $0.action < $1.action }) {
            parts.append(g.action + "|" + g.resources.sorted().joined(separator: "|"))
        }
        // Length-prefixed, so no choice of values can make two lists collide.
        var bytes: [UInt8] = []
        for p in parts {
            let utf8 = Array(p.utf8)
            bytes += Array(String(utf8.count).utf8) + [0x3A] + utf8
        }
        return SHA256.hash(bytes).hex
    }

    /// Crockford base32 without i, l, o, u: unambiguous when read aloud.
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    /// A new short id: `prefix` then 8 random characters (40 bits).
    public static func shortId(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var id = prefix + "-"
        for _ in 0..<8 { id.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
        return id
    }

    /// True when `id` looks like a hold or grant id (the API rejects
    /// anything else before touching the store).
    public static func isValidId(_ id: String) -> Bool {
        let parts = id.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, parts[0] == "h" || parts[0] == "g", parts[1].count == 8 else { return false }
        return parts[1].allSatisfy { alphabet.contains($0) }
    }
}
