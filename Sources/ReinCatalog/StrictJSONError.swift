/// Why a document was refused, where, and (for duplicates) which key.
public struct StrictJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// A byte that cannot start or continue the expected token.
        case syntax
        /// The input ended inside a value (or was empty).
        case unexpectedEnd
        /// Bytes other than whitespace after the one top-level value.
        case trailingData
        /// Invalid UTF-8 (overlong, surrogate, out of range or truncated).
        case encoding
        /// A raw byte below 0x20 inside a string.
        case controlCharacter
        /// A backslash escape JSON does not define, or a bad `\u` hex digit.
        case invalidEscape
        /// A `\u` escape naming half a surrogate pair.
        case loneSurrogate
        /// A number JSON does not allow: leading zeros, `1.`, `.5`, `+1`, `1e`.
        case invalidNumber
        /// The same key twice in one object.
        case duplicateKey
        /// Arrays and objects nested deeper than the limit.
        case depth
        /// The document is larger than the limit.
        case tooLarge
    }

    public let kind: Kind
    /// Byte offset into the input where the problem was found.
    public let offset: Int
    /// The repeated key, for ``Kind/duplicateKey``.
    public let key: String?
    /// What was expected or found, for operators.
    public let detail: String

    public init(_ kind: Kind, at offset: Int, _ detail: String, key: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
        self.key = key
    }

    public var description: String {
        "invalid JSON at byte \(offset) (\(kind.rawValue)): \(detail)"
    }
}
