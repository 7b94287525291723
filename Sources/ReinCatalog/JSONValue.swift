/// A parsed JSON (or CBOR) document that keeps exactly what was on the wire.
///
/// Numbers stay as their literal text so that Rein never rounds a value AWS
/// would read at full precision, and objects keep their entries in wire order.
/// Strings and keys compare by their Unicode scalars, not by Swift's canonical
/// equivalence: AWS (Java) compares keys code unit by code unit, so `"K"` and
/// `"\u{212A}"` (KELVIN SIGN) are different keys there and must be here too.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal text, e.g. `-0.5e3`. Values decoded from CBOR use
    /// Swift's shortest round-trip form, and `NaN`, `Infinity` or `-Infinity`
    /// for the IEEE specials that JSON cannot spell.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The literal text, if this is a number.
    public var numberText: String? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The member named `key`, if this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.string(let a), .string(let b)): return JSONObject.sameKey(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }
}

/// A JSON object's members in wire order.
///
/// Lookups are linear: AWS request objects are small, and a scan that
/// compares scalars exactly is both fast enough and impossible to confuse
/// with a hash of a normalized form. The parsers that build these reject
/// duplicate keys, so a key appears at most once.
public struct JSONObject: Sendable, Equatable {
    public let entries: [(key: String, value: JSONValue)]

    public init(_ entries: [(key: String, value: JSONValue)] = []) {
        self.entries = entries
    }

    /// The value of the first entry whose key has exactly these scalars.
    public subscript(key: String) -> JSONValue? {
        for entry in entries where Self.sameKey(entry.key, key) {
            return entry.value
        }
        return nil
    }

    /// The keys in wire order.
    public var keys: [String] { entries.map(\.key) }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Equal when both hold the same keys with equal values in the same order:
    /// the type preserves wire order, so order is part of its identity.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (a, b) in zip(lhs.entries, rhs.entries) {
            guard sameKey(a.key, b.key), a.value == b.value else { return false }
        }
        return true
    }

    /// A key for an error message, shortened so a hostile key cannot flood a log.
    static func quoted(_ key: String) -> String {
        let scalars = key.unicodeScalars
        if scalars.count <= 64 { return "\"\(key)\"" }
        return "\"\(String(String.UnicodeScalarView(scalars.prefix(64))))…\""
    }

    /// Key identity as AWS sees it: the same Unicode scalars, no normalization.
    static func sameKey(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }
}

/// The duplicate-key check the parsers run as they add each member. Small
/// objects are scanned in place; from 16 members on, a set hashes the UTF-8
/// bytes, never a normalized form, so that two keys AWS tells apart are
/// never merged here.
struct KeySet {
    private var large: Set<ExactKey>? = nil

    /// Whether `key` is new, given the `entries` parsed so far; remembers it.
    mutating func insert(_ key: String, into entries: [(key: String, value: JSONValue)]) -> Bool {
        if var set = large {
            large = nil  // keep the set uniquely referenced while inserting
            let inserted = set.insert(ExactKey(key: key)).inserted
            large = set
            return inserted
        }
        for entry in entries where JSONObject.sameKey(entry.key, key) { return false }
        if entries.count >= 16 {
            var set = Set(entries.map { ExactKey(key: $0.key) })
            set.insert(ExactKey(key: key))
            large = set
        }
        return true
    }

    private struct ExactKey: Hashable {
        let key: String
        static func == (a: ExactKey, b: ExactKey) -> Bool { JSONObject.sameKey(a.key, b.key) }
        func hash(into hasher: inout Hasher) {
            for byte in key.utf8 { hasher.combine(byte) }
        }
    }
}
