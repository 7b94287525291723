import Foundation

/// The error code of an AWS error response, read the way the SDKs read it,
/// so that a forwarded call AWS refused carries AWS's own code in its audit
/// record (`NoSuchKey`, `ResourceNotFoundException`), not only its status.
///
/// Why it matters: investigators and SIEMs tell failed calls from successful
/// ones by the error code (CloudTrail's `errorCode`). Without it, a
/// forwarded call AWS refused reads as if it worked.
///
/// Only the first `prefixLimit` bytes of an error body are kept while it
/// streams through; every AWS error body names its code well within that.
public struct UpstreamErrorCode: Sendable {
    public static let prefixLimit = 4096

    private var headerCode: String?
    private var prefix: [UInt8] = []

    public init() {}

    /// `x-amzn-ErrorType` (JSON and REST-JSON services) or
    /// `x-amz-error-code` (S3 on some errors); both name the code directly.
    public mutating func header(name: String, value: String) {
        guard headerCode == nil else { return }
        let lower = name.lowercased()
        if lower == "x-amzn-errortype" || lower == "x-amz-error-code" {
            let bare = AWSErrorResponse.bareCode(value.trimmingCharacters(in: .whitespaces))
            if !bare.isEmpty { headerCode = bare }
        }
    }

    /// Keeps the start of the error body (nothing once a header named the code).
    public mutating func body(_ bytes: [UInt8]) {
        guard headerCode == nil, prefix.count < Self.prefixLimit else { return }
        prefix += bytes.prefix(Self.prefixLimit - prefix.count)
    }

    /// The code: from a header, else `<Code>` (XML: S3, query, EC2), else
    /// `__type` or `code` (JSON), else the HTTP status as the SDKs report a
    /// bodiless error (`"404"` for a HEAD of a missing key).
    public func code(status: Int) -> String {
        if let headerCode { return headerCode }
        let text = String(decoding: prefix, as: UTF8.self)
        if let code = Self.xmlElement("Code", in: text) ?? Self.jsonString("__type", in: text) ?? Self.jsonString("code", in: text),
           !code.isEmpty, code.count <= 128 {
            return AWSErrorResponse.bareCode(code)
        }
        return String(status)
    }

    static func xmlElement(_ name: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(name)>"),
              let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
        return String(text[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The string value of the first `"key":"…"` (JSON error bodies are flat).
    static func jsonString(_ key: String, in text: String) -> String? {
        var search = text.startIndex..<text.endIndex
        while let k = text.range(of: "\"\(key)\"", options: [.caseInsensitive], range: search) {
            var i = k.upperBound
            while i < text.endIndex, text[i] == " " || text[i] == "\t" || text[i] == "\n" || text[i] == "\r" { i = text.index(after: i) }
            if i < text.endIndex, text[i] == ":" {
                i = text.index(after: i)
                while i < text.endIndex, text[i] == " " || text[i] == "\t" { i = text.index(after: i) }
                if i < text.endIndex, text[i] == "\"", let end = text[text.index(after: i)...].firstIndex(of: "\"") {
                    return String(text[text.index(after: i)..<end])
                }
            }
            search = k.upperBound..<text.endIndex
        }
        return nil
    }
}
