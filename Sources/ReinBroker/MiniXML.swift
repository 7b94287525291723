import Foundation

/// Just enough XML for STS and S3 answers: the text of a named element.
/// Their documents are small, flat and machine-written, so a scan for
/// `<Name>...</Name>` is exact, and it avoids libxml2 at run time.
public enum MiniXML {
    public static func element(_ name: String, in text: Substring) -> Substring? {
        var from = text.startIndex
        while let open = text.range(of: "<" + name, range: from..<text.endIndex) {
            guard open.upperBound < text.endIndex else { return nil }
            let next = text[open.upperBound]
            if next == ">" || next == " " || next == "\t" || next == "\n" || next == "\r" || next == "/" {
                guard let gt = text[open.upperBound...].firstIndex(of: ">") else { return nil }
                if text[text.index(before: gt)] == "/" { return text[gt..<gt] }
                let start = text.index(after: gt)
                guard let close = text.range(of: "</" + name + ">", range: start..<text.endIndex) else { return nil }
                return text[start..<close.lowerBound]
            }
            from = open.upperBound
        }
        return nil
    }

    /// Text for an element's content (S3's CompleteMultipartUpload ETags carry quotes).
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func unescape(_ text: Substring) -> String {
        guard text.contains("&") else { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                out += rest[amp...]
                return out.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let scalar: UInt32? = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                if let s = scalar.flatMap(Unicode.Scalar.init) { out.unicodeScalars.append(s) } else { out += rest[amp...semi] }
            }
            rest = rest[rest.index(after: semi)...]
        }
        out += rest
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
