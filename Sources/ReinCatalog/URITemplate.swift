import Foundation
import ReinSigV4

/// A botocore request URI template such as `/{Bucket}/{Key+}?x-id=GetObject`,
/// compiled for matching against a request's raw path and query.
final class URITemplate: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case label(String)
        case greedy(String)
    }

    /// A static query selector: `?delete` (presence) or `?list-type=2` (value).
    struct Selector: Sendable, Equatable {
        let key: String
        let value: String?
    }

    let segments: [Segment]
    let selectors: [Selector]
    /// Whether the path ends with `/` (e.g. `/2015-03-31/functions/`).
    let trailingSlash: Bool
    /// Segment counts this template can match, for a cheap first test.
    let minSegments: Int
    let greedy: Bool

    init(_ template: String) {
        let parts = template.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? "/"
        segments = path.split(separator: "/", omittingEmptySubsequences: true).map { raw in
            if raw.hasPrefix("{") && raw.hasSuffix("+}") { return .greedy(String(raw.dropFirst().dropLast(2))) }
            if raw.hasPrefix("{") && raw.hasSuffix("}") { return .label(String(raw.dropFirst().dropLast())) }
            return .literal(String(raw))
        }
        trailingSlash = path.count > 1 && path.hasSuffix("/")
        greedy = segments.last.map { if case .greedy = $0 { return true } else { return false } } ?? false
        minSegments = segments.count
        if parts.count > 1 {
            selectors = parts[1].split(separator: "&").map { item in
                if let eq = item.firstIndex(of: "=") {
                    return Selector(key: String(item[..<eq]), value: String(item[item.index(after: eq)...]))
                }
                return Selector(key: String(item), value: nil)
            }
        } else {
            selectors = []
        }
    }

    /// Matches a raw path (split into still-encoded segments) and decoded
    /// query; returns decoded label values and a specificity score.
    /// How well the path and query fit, or nil when they do not. Cheap:
    /// nothing is decoded or allocated.
    func score(pathSegments: [Substring], query: [(key: String, value: String)]) -> Int? {
        guard greedy ? pathSegments.count >= minSegments : pathSegments.count == minSegments else { return nil }
        var score = 0
        var i = 0
        for segment in segments {
            switch segment {
            case .literal(let text):
                guard pathSegments[i] == text else { return nil }
                score += 100
                i += 1
            case .label:
                guard !pathSegments[i].isEmpty else { return nil }
                score += 10
                i += 1
            case .greedy:
                score += 1
            }
        }
        for selector in selectors {
            let present = query.contains { $0.key == selector.key && (selector.value == nil || $0.value == selector.value) }
            if present {
                score += 20
            } else if selector.key != "x-id" {
                // x-id is botocore's own routing hint; other clients omit it.
                return nil
            }
        }
        // An x-id naming another operation rules this one out.
        if let xid = query.first(where: { $0.key == "x-id" }),
           let own = selectors.first(where: { $0.key == "x-id" }), own.value != xid.value {
            return nil
        }
        return score
    }

    /// The decoded label values of a path that `score` accepted. A greedy
    /// label (an S3 key) keeps a trailing slash: "dir/" is its own key.
    func labels(pathSegments: [Substring], trailingSlash: Bool) -> LabelValues {
        var labels = LabelValues()
        var i = 0
        for segment in segments {
            switch segment {
            case .literal: i += 1
            case .label(let name):
                labels[name] = URIDecoding.decode(pathSegments[i])
                i += 1
            case .greedy(let name):
                // The rest of the raw path from this segment on (slashes, and a
                // trailing slash, included): no re-joining.
                let start = pathSegments[i]
                if start.base.utf8.count > 0, pathSegments.last?.base == start.base {
                    let rest = start.base[start.startIndex...]
                    labels[name] = URIDecoding.decode(trailingSlash || !rest.hasSuffix("/") ? rest : rest.dropLast())
                } else {
                    let rest = pathSegments[i...].joined(separator: "/")
                    labels[name] = URIDecoding.decode(trailingSlash ? rest + "/" : rest)
                }
            }
        }
        return labels
    }
}

/// Decoded URI label values: a handful per request, so a small array beats hashing.
struct LabelValues: Sendable, ExpressibleByDictionaryLiteral {
    private var items: [(name: String, value: String)] = []

    init() {}

    init(dictionaryLiteral elements: (String, String)...) {
        items = elements.map { ($0.0, $0.1) }
    }

    subscript(name: String) -> String? {
        get { items.first { $0.name == name }?.value }
        set {
            items.removeAll { $0.name == name }
            if let newValue { items.append((name, newValue)) }
        }
    }
}

/// Percent-decoding of path segments and query components (no `+` → space):
/// the SigV4 module's decoder, plus form decoding for query-protocol bodies.
enum URIDecoding {
    static func decode<S: StringProtocol>(_ s: S) -> String {
        URIEncoding.decode(s)
    }

    /// Form decoding (application/x-www-form-urlencoded): `+` is a space.
    static func decodeForm<S: StringProtocol>(_ s: S) -> String {
        URIEncoding.decode(String(s).replacingOccurrences(of: "+", with: " "))
    }
}
