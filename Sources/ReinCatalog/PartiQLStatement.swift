/// The parts of a DynamoDB PartiQL statement that authorization needs: the
/// verb (SELECT, INSERT, UPDATE, DELETE) and the target table, with an
/// index for `SELECT ... FROM "table"."index"`. Anything else is nil, and
/// the request is unknown.
struct PartiQLStatement: Sendable, Equatable {
    let verb: String
    let table: String
    let index: String?

    init?(_ text: String) {
        var scanner = Scanner(Array(text.utf8))
        guard let first = scanner.word()?.uppercased() else { return nil }
        let keyword: String
        switch first {
        case "SELECT": verb = "Select"; keyword = "FROM"
        case "INSERT": verb = "Insert"; keyword = "INTO"
        case "UPDATE": verb = "Update"; keyword = ""
        case "DELETE": verb = "Delete"; keyword = "FROM"
        default: return nil
        }
        if !keyword.isEmpty {
            // The first FROM/INTO outside quotes introduces the target.
            while let token = scanner.nextToken() {
                if case .word(let w) = token, w.uppercased() == keyword { break }
                if scanner.atEnd { return nil }
            }
        }
        guard let table = Self.name(scanner.nextToken()) else { return nil }
        self.table = table
        index = scanner.peekDot() ? Self.name(scanner.nextToken()) : nil
    }

    /// A table or index name: a "quoted identifier" or a bare word.
    private static func name(_ token: Scanner.Token?) -> String? {
        switch token {
        case .identifier(let s)?, .word(let s)?: return s
        default: return nil
        }
    }

    private struct Scanner {
        enum Token { case word(String), identifier(String), other }
        let bytes: [UInt8]
        var i = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { i >= bytes.count }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        mutating func word() -> String? {
            if case .word(let w)? = nextToken() { return w }
            return nil
        }

        mutating func peekDot() -> Bool {
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; return true }
            return false
        }

        /// Words, "quoted identifiers" (with "" escapes), and skipped
        /// 'strings' or punctuation.
        mutating func nextToken() -> Token? {
            skipSpace()
            guard i < bytes.count else { return nil }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                var out: [UInt8] = []
                i += 1
                while i < bytes.count {
                    if bytes[i] == c {
                        if i + 1 < bytes.count, bytes[i + 1] == c { out.append(c); i += 2; continue }
                        i += 1
                        return c == UInt8(ascii: "\"") ? .identifier(String(decoding: out, as: UTF8.self)) : .other
                    }
                    out.append(bytes[i])
                    i += 1
                }
                return nil
            }
            if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") {
                let start = i
                while i < bytes.count, (bytes[i] >= 0x41 && bytes[i] <= 0x5A) || (bytes[i] >= 0x61 && bytes[i] <= 0x7A)
                    || (bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] == UInt8(ascii: "_") || bytes[i] == UInt8(ascii: "-") {
                    i += 1
                }
                let w = String(decoding: bytes[start..<i], as: UTF8.self)
                return .word(w)
            }
            i += 1
            return .other
        }
    }
}
