import Foundation

/// One entry of a sidecar token's `sidecar_ids`: a sidecar id, or a
/// pattern with `*` standing for any run of characters (`billing-*`).
///
/// Why: a token is given to every replica of an agent's pods, so it names
/// agents; but an agent's token could then register a sidecar id meant for
/// another of its hosts first (pinning its own key, so that the real host's
/// records are refused). Naming the ids, or a prefix per deployment, closes
/// that. The same `*` glob as IAM resource patterns, with nothing else
/// special, so that an id can never be read as a pattern by surprise.
public struct SidecarIdPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    private let parts: [Substring]

    public init(_ text: String) {
        self.text = text
        parts = text.split(separator: "*", omittingEmptySubsequences: false)
    }

    public var description: String { text }

    public func matches(_ id: String) -> Bool {
        guard parts.count > 1 else { return id == text }
        var rest = Substring(id)
        guard let first = parts.first, rest.hasPrefix(first) else { return false }
        rest = rest.dropFirst(first.count)
        let last = parts[parts.count - 1]
        for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
            guard let found = rest.range(of: middle) else { return false }
            rest = rest[found.upperBound...]
        }
        return rest.count >= last.count && rest.hasSuffix(last)
    }
}
