/// The SigV4 canonical request, built as bytes.
///
/// The rules (AWS "Create a canonical request"):
/// - S3-style services take the path as sent, encoded once; every other
///   service removes dot segments and empty segments and encodes the
///   (already encoded) path again.
/// - Query parameters are encoded, then sorted by key and then by value;
///   repeated keys and empty values are kept, and a bare `key` becomes `key=`.
/// - Header values are trimmed with whitespace runs folded; repeated headers
///   are joined with `,` in arrival order.
public struct CanonicalRequest: Sendable, Equatable {
    public let bytes: [UInt8]

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Builds the canonical request.
    /// - Parameters:
    ///   - signedHeaders: lower-case, sorted, unique header names.
    ///   - excludingQueryKey: a query key left out (the presigned `X-Amz-Signature`).
    public init(
        request: SignableRequest,
        signedHeaders: [String],
        payloadHash: String,
        normalizePath: Bool,
        excludingQueryKey: String? = nil
    ) {
        var out = [UInt8]()
        out.reserveCapacity(256 + request.path.utf8.count + (request.query?.utf8.count ?? 0))
        out.appendUTF8(request.method)
        out.append(0x0A)
        Self.appendPath(request.path, normalize: normalizePath, into: &out)
        out.append(0x0A)
        Self.appendQuery(request.query, excluding: excludingQueryKey, into: &out)
        out.append(0x0A)
        for name in signedHeaders {
            out.appendUTF8(name)
            out.append(UInt8(ascii: ":"))
            var first = true
            for header in request.headers where header.hasName(name) {
                if !first { out.append(UInt8(ascii: ",")) }
                ASCII.trimAll(header.value, into: &out)
                first = false
            }
            out.append(0x0A)
        }
        out.append(0x0A)
        var firstName = true
        for name in signedHeaders {
            if !firstName { out.append(UInt8(ascii: ";")) }
            out.appendUTF8(name)
            firstName = false
        }
        out.append(0x0A)
        out.appendUTF8(payloadHash)
        bytes = out
    }

    static func appendPath(_ path: String, normalize: Bool, into out: inout [UInt8]) {
        if path == "/" {
            out.append(UInt8(ascii: "/"))
        } else if normalize {
            URIEncoding.encode(URIEncoding.normalizePath(path).utf8, keepSlash: true, into: &out)
        } else if path.isEmpty {
            out.append(UInt8(ascii: "/"))
        } else {
            URIEncoding.reencode(path.utf8, keepSlash: true, into: &out)
        }
    }

    static func appendQuery(_ query: String?, excluding: String?, into out: inout [UInt8]) {
        guard let query, !query.isEmpty else { return }
        var pairs: [(key: [UInt8], value: [UInt8])] = []
        for parameter in QueryParameter.parse(query) {
            var key = [UInt8]()
            URIEncoding.reencode(parameter.rawKey.utf8, keepSlash: false, into: &key)
            if let excluding, key.elementsEqual(excluding.utf8) { continue }
            var value = [UInt8]()
            URIEncoding.reencode(parameter.rawValue.utf8, keepSlash: false, into: &value)
            pairs.append((key, value))
        }
        pairs.sort { a, b in
            if a.key != b.key { return a.key.lexicographicallyPrecedes(b.key) }
            return a.value.lexicographicallyPrecedes(b.value)
        }
        for (i, pair) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: pair.key)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: pair.value)
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 bytes with one copy.
    @inline(__always)
    mutating func appendUTF8(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ append(contentsOf: $0) }) == nil {
            append(contentsOf: s.utf8)
        }
    }
}
