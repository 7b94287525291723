import Foundation
import Testing
@testable import ReinCatalog

/// StrictJSON accepts every RFC 8259 document and refuses each kind of
/// document two readers could interpret differently.
struct StrictJSONTests {
    static func parse(_ text: String, maxDepth: Int = 64) throws(StrictJSONError) -> JSONValue {
        try StrictJSON.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    static func obj(_ entries: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(entries.map { (key: $0.0, value: $0.1) }))
    }

    // MARK: Accepted documents

    struct Valid: CustomTestStringConvertible, Sendable {
        let text: String
        let expected: JSONValue
        var testDescription: String { text }
    }

    static let valid: [Valid] = [
        Valid(text: "null", expected: .null),
        Valid(text: "true", expected: .bool(true)),
        Valid(text: " \t\r\nfalse\n ", expected: .bool(false)),
        Valid(text: "0", expected: .number("0")),
        Valid(text: "-0", expected: .number("-0")),
        Valid(text: "123456789012345678901234567890", expected: .number("123456789012345678901234567890")),
        Valid(text: "-0.5e+3", expected: .number("-0.5e+3")),
        Valid(text: "1E400", expected: .number("1E400")),
        Valid(text: "2.50", expected: .number("2.50")),
        Valid(text: #""""#, expected: .string("")),
        Valid(text: #""plain""#, expected: .string("plain")),
        Valid(text: #""\"\\\/\b\f\n\r\t""#, expected: .string("\"\\/\u{8}\u{C}\n\r\t")),
        Valid(text: #""caf\u00e9 \u00E9""#, expected: .string("café é")),
        Valid(text: #""\ud83d\ude00 and 😀""#, expected: .string("😀 and 😀")),
        Valid(text: #""\u0000""#, expected: .string("\u{0}")),
        Valid(text: "\"Zugriff verweigert — 拒绝访问\"", expected: .string("Zugriff verweigert — 拒绝访问")),
        Valid(text: "[]", expected: .array([])),
        Valid(text: "[ 1 , [ ] , { } ]", expected: .array([.number("1"), .array([]), obj([])])),
        Valid(text: "{}", expected: obj([])),
        Valid(text: #"{"b":1,"a":[true,null],"c":{"d":"e"}}"#,
              expected: obj([("b", .number("1")), ("a", .array([.bool(true), .null])), ("c", obj([("d", .string("e"))]))])),
    ]

    @Test(arguments: valid)
    func acceptsValidDocument(_ v: Valid) throws {
        #expect(try Self.parse(v.text) == v.expected)
    }

    @Test func keepsObjectOrderAndLiteralNumbers() throws {
        let v = try Self.parse(#"{"z":1.10,"a":-0,"m":1e2}"#)
        #expect(v.objectValue?.keys == ["z", "a", "m"])
        #expect(v["z"]?.numberText == "1.10")
        #expect(v["a"]?.numberText == "-0")
        #expect(v["m"]?.numberText == "1e2")
        // Order is part of identity: the same members in another order differ.
        #expect(v != (try Self.parse(#"{"a":-0,"z":1.10,"m":1e2}"#)))
    }

    @Test func parsesNonContiguousCollections() throws {
        let bytes = Array(#"{"k":["v",2]}"#.utf8)
        let lazy = bytes.lazy.map { $0 }  // no contiguous storage: exercises the copying path
        #expect(try StrictJSON.parse(lazy) == Self.obj([("k", .array([.string("v"), .number("2")]))]))
        #expect(try StrictJSON.parse(bytes[...]) == (try StrictJSON.parse(lazy)))
    }

    /// Keys are distinct when their scalars differ, even where Swift's String
    /// equality (canonical equivalence) would call them equal: AWS compares
    /// code units, so Rein must too.
    @Test func keysCompareByScalarsNotCanonicalEquivalence() throws {
        #expect("K" == "\u{212A}")  // Swift: KELVIN SIGN is canonically "K"
        let v = try Self.parse(#"{"K":"latin","\u212A":"kelvin","e\u0301":1,"\u00e9":2}"#)
        #expect(v.objectValue?.count == 4)
        #expect(v["K"] == .string("latin"))
        #expect(v["\u{212A}"] == .string("kelvin"))
        #expect(v["é"] == .number("2"))
        #expect(v["e\u{301}"] == .number("1"))
    }

    /// A DynamoDB BatchWriteItem body: the table names and items Rein's
    /// resource extraction needs are reachable, in order.
    @Test func parsesDynamoDBBatchWriteItem() throws {
        let body = """
        {"RequestItems":{
          "Orders":[
            {"PutRequest":{"Item":{"pk":{"S":"order#1"},"total":{"N":"12.50"},"tags":{"SS":["a","b"]}}}},
            {"DeleteRequest":{"Key":{"pk":{"S":"order#0"}}}}
          ],
          "Audit-Log.v2":[{"PutRequest":{"Item":{"pk":{"S":"x"},"blob":{"B":"AAEC"},"ok":{"BOOL":true},"none":{"NULL":true}}}}]
        },"ReturnConsumedCapacity":"TOTAL"}
        """
        let v = try Self.parse(body)
        let items = try #require(v["RequestItems"]?.objectValue)
        #expect(items.keys == ["Orders", "Audit-Log.v2"])
        let orders = try #require(items["Orders"]?.arrayValue)
        #expect(orders.count == 2)
        #expect(orders[0]["PutRequest"]?["Item"]?["total"]?["N"] == .string("12.50"))
        #expect(orders[1]["DeleteRequest"]?["Key"]?["pk"]?["S"]?.stringValue == "order#0")
        #expect(items["Audit-Log.v2"]?.arrayValue?.first?["PutRequest"]?["Item"]?["ok"]?["BOOL"]?.boolValue == true)
        #expect(v["ReturnConsumedCapacity"]?.stringValue == "TOTAL")
    }

    // MARK: Refused documents

    struct Invalid: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        let kind: StrictJSONError.Kind
        let offset: Int
        init(_ name: String, _ text: String, _ kind: StrictJSONError.Kind, at offset: Int) {
            self.init(name, Array(text.utf8), kind, at: offset)
        }
        init(_ name: String, _ bytes: [UInt8], _ kind: StrictJSONError.Kind, at offset: Int) {
            self.name = name; self.bytes = bytes; self.kind = kind; self.offset = offset
        }
        var testDescription: String { name }
    }

    static let quote = UInt8(ascii: "\"")

    static let invalid: [Invalid] = [
        Invalid("empty", "", .unexpectedEnd, at: 0),
        Invalid("whitespace only", "  ", .unexpectedEnd, at: 2),
        Invalid("trailing value", "{} {}", .trailingData, at: 3),
        Invalid("trailing garbage", "[1]x", .trailingData, at: 3),
        Invalid("two numbers", "1 2", .trailingData, at: 2),
        Invalid("trailing NUL", "1\u{0}", .trailingData, at: 1),
        Invalid("byte-order mark", [0xEF, 0xBB, 0xBF] + Array("{}".utf8), .syntax, at: 0),
        Invalid("single quotes", "{'a':1}", .syntax, at: 1),
        Invalid("bare word", "nope", .syntax, at: 1),
        Invalid("NaN", "NaN", .syntax, at: 0),
        Invalid("truncated literal", "tru", .unexpectedEnd, at: 3),
        Invalid("trailing comma in array", "[1,]", .syntax, at: 3),
        Invalid("trailing comma in object", #"{"a":1,}"#, .syntax, at: 7),
        Invalid("missing colon", #"{"a" 1}"#, .syntax, at: 5),
        Invalid("missing comma", "[1 2]", .syntax, at: 3),
        Invalid("unterminated array", "[1", .unexpectedEnd, at: 2),
        Invalid("unterminated string", #"{"a":"b"#, .unexpectedEnd, at: 5),
        Invalid("leading zero", "01", .invalidNumber, at: 0),
        Invalid("negative leading zero", "[-012]", .invalidNumber, at: 1),
        Invalid("plus sign", "+1", .syntax, at: 0),
        Invalid("bare minus", "-", .invalidNumber, at: 1),
        Invalid("empty fraction", "1.", .invalidNumber, at: 2),
        Invalid("leading dot", ".5", .syntax, at: 0),
        Invalid("empty exponent", "1e+", .invalidNumber, at: 3),
        Invalid("hex number", "0x10", .trailingData, at: 1),
        Invalid("raw newline in string", "\"a\nb\"", .controlCharacter, at: 2),
        Invalid("raw tab in string", "\"\t\"", .controlCharacter, at: 1),
        Invalid("unknown escape", #""\x41""#, .invalidEscape, at: 1),
        Invalid("bad hex digit", #""\u12G4""#, .invalidEscape, at: 5),
        Invalid("truncated \\u", #""\u12"#, .unexpectedEnd, at: 3),
        Invalid("lone high surrogate", #""\ud800""#, .loneSurrogate, at: 1),
        Invalid("high surrogate then letter", #""\ud800\u0041""#, .loneSurrogate, at: 1),
        Invalid("lone low surrogate", #"{"k":"\udc00"}"#, .loneSurrogate, at: 6),
        Invalid("invalid UTF-8 lead", [quote, 0xC3, 0x28, quote], .encoding, at: 2),
        Invalid("overlong slash", [quote, 0xC0, 0xAF, quote], .encoding, at: 1),
        Invalid("UTF-8 surrogate", [quote, 0xED, 0xA0, 0x80, quote], .encoding, at: 2),
        Invalid("above U+10FFFF", [quote, 0xF4, 0x90, 0x80, 0x80, quote], .encoding, at: 2),
        Invalid("truncated sequence", [quote, 0xE2, 0x82], .encoding, at: 1),
        Invalid("stray continuation", [quote, 0x80, quote], .encoding, at: 1),
        Invalid("0xFF", [quote, 0xFF, quote], .encoding, at: 1),
        Invalid("invalid UTF-8 in key", [0x7B, quote, 0xF5, quote, 0x3A, 0x31, 0x7D], .encoding, at: 2),
        Invalid("duplicate key", #"{"a":1,"a":2}"#, .duplicateKey, at: 7),
        Invalid("duplicate via escape", #"{"ab":1,"\u0061b":2}"#, .duplicateKey, at: 8),
    ]

    @Test(arguments: invalid)
    func refusesInvalidDocument(_ c: Invalid) {
        #expect {
            _ = try StrictJSON.parse(c.bytes)
        } throws: { error in
            guard let e = error as? StrictJSONError else { return false }
            return e.kind == c.kind && e.offset == c.offset
        }
    }

    @Test func duplicateKeyReportsKeyAndOffset() {
        let text = #"{"TableName":"allowed","Key":{},"TableName":"secret"}"#
        #expect(throws: StrictJSONError(.duplicateKey, at: 32, "the key \"TableName\" appears twice in one object", key: "TableName")) {
            try Self.parse(text)
        }
    }

    @Test func duplicateKeysNestedInArraysAreRefused() {
        let text = #"{"a":[{"x":1},[{"y":2,"z":[{"q":1}],"y":3}]]}"#
        do {
            _ = try Self.parse(text)
            Issue.record("a duplicate nested in arrays was accepted")
        } catch {
            #expect(error.kind == .duplicateKey)
            #expect(error.key == "y")
            #expect(error.offset == 36)
            #expect(error.description.contains("\"y\""))
        }
        // The same keys in sibling objects are not duplicates.
        #expect(throws: Never.self) { try Self.parse(#"[{"y":1},{"y":2},{"x":{"y":3}}]"#) }
    }

    @Test func duplicateKeysInLargeObjectsAreRefused() throws {
        let keys = (0..<200).map { "k\($0)" }
        let members = keys.map { "\"\($0)\":1" }.joined(separator: ",")
        #expect(try Self.parse("{\(members)}").objectValue?.count == 200)
        #expect(throws: StrictJSONError.self) { try Self.parse("{\(members),\"k150\":2}") }
        // Hashing must not merge canonically equivalent keys either.
        #expect(try Self.parse("{\(members),\"\\u212A\":1,\"K\":2}").objectValue?.count == 202)
    }

    /// Around the size where the check switches from scanning to hashing, a
    /// repeat of the first, middle or last key is caught.
    @Test(arguments: 13...19)
    func duplicateKeysAcrossTheHashingThreshold(_ n: Int) throws {
        let keys = (0..<n).map { "key\($0)" }
        let members = keys.map { "\"\($0)\":0" }
        #expect(try Self.parse("{\(members.joined(separator: ","))}").objectValue?.count == n)
        for repeated in [keys[0], keys[n / 2], keys[n - 1]] {
            for position in [n, n + 1] {
                var withDuplicate = members + ["\"fresh\":1"]
                withDuplicate.insert("\"\(repeated)\":1", at: position)
                #expect(performing: { try Self.parse("{\(withDuplicate.joined(separator: ","))}") },
                        throws: { ($0 as? StrictJSONError)?.key == repeated })
            }
        }
    }

    @Test func depthLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try Self.parse(ok).arrayValue != nil)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: StrictJSONError(.depth, at: 64, "nesting deeper than 64 levels")) { try Self.parse(deep) }
        let objects = String(repeating: #"{"a":"#, count: 4) + "1" + String(repeating: "}", count: 4)
        #expect(throws: StrictJSONError.self) { try Self.parse(objects, maxDepth: 3) }
        #expect(throws: Never.self) { try Self.parse(objects, maxDepth: 4) }
        // A hostile depth far past the limit fails fast instead of overflowing the stack.
        let hostile = Array(repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(hostile) }
    }

    @Test func sizeLimit() {
        let text = Array(#"{"a":"0123456789"}"#.utf8)
        #expect(throws: Never.self) { try StrictJSON.parse(text, maxBytes: text.count) }
        #expect {
            try StrictJSON.parse(text, maxBytes: text.count - 1)
        } throws: { ($0 as? StrictJSONError)?.kind == .tooLarge }
    }

    // MARK: Encoding

    @Test func encodesCompactlyWithRequiredEscapes() throws {
        let v = Self.obj([
            ("msg", .string("a\"b\\c\n\u{1}\u{1F}é😀</")),
            ("n", .number("-1.5e3")),
            ("special", .number("NaN")),
            ("list", .array([.null, .bool(true), .bool(false)])),
        ])
        let text = String(decoding: StrictJSON.encode(v), as: UTF8.self)
        #expect(text == #"{"msg":"a\"b\\c\n\u0001\u001fé😀</","n":-1.5e3,"special":"NaN","list":[null,true,false]}"#)
        let back = try StrictJSON.parse(StrictJSON.encode(v))
        #expect(back["msg"] == v["msg"])
        #expect(back["special"] == .string("NaN"))
    }

    // MARK: Robustness

    /// 5,000 random mutations of a valid document. Each must either parse or
    /// throw a StrictJSONError with an in-range offset; whatever parses must
    /// survive an encode/parse round trip and be accepted by Foundation's
    /// (more lenient) parser too.
    @Test func randomMutationsNeverCrash() throws {
        let seed = Array("""
        {"RequestItems":{"Orders":[{"PutRequest":{"Item":{"pk":{"S":"o#1 \\u00e9 é"},"n":{"N":"-12.5e3"},
        "l":{"L":[true,false,null,0,[]]}}}}]},"ReturnConsumedCapacity":"TOTAL","x":"\\ud83d\\ude00\\n"}
        """.utf8)
        #expect(throws: Never.self) { try StrictJSON.parse(seed) }
        let interesting: [UInt8] = Array("{}[]\":,\\-+.eE0123456789tfnu ".utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]
        var rng = SplitMix64(seed: 0x5EED_0F_2E1)
        var accepted = 0
        var kinds: Set<StrictJSONError.Kind> = []
        for _ in 0..<5_000 {
            var doc = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutate(&doc, interesting: interesting, rng: &rng)
            }
            do {
                let v = try StrictJSON.parse(doc)
                accepted += 1
                #expect(try StrictJSON.parse(StrictJSON.encode(v)) == v)
                let foundation = try? JSONSerialization.jsonObject(with: Data(doc), options: [.fragmentsAllowed])
                #expect(foundation != nil, "StrictJSON accepted what Foundation refuses: \(String(decoding: doc, as: UTF8.self))")
            } catch {
                kinds.insert(error.kind)
                #expect((0...doc.count).contains(error.offset))
            }
        }
        // The mutations reach both outcomes and many distinct refusals.
        #expect(accepted > 50)
        #expect(accepted < 4_000)
        #expect(kinds.count >= 8)
    }

    func mutate(_ doc: inout [UInt8], interesting: [UInt8], rng: inout SplitMix64) {
        guard !doc.isEmpty else { doc = [interesting.randomElement(using: &rng) ?? 0x30]; return }
        let at = Int.random(in: 0..<doc.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: doc[at] = interesting.randomElement(using: &rng) ?? 0
        case 1: doc.insert(interesting.randomElement(using: &rng) ?? 0, at: at)
        case 2: doc.remove(at: at)
        case 3: doc[at] = UInt8.random(in: 0...255, using: &rng)
        case 4:
            let end = min(doc.count, at + Int.random(in: 1...12, using: &rng))
            doc.insert(contentsOf: doc[at..<end], at: end)
        default: doc.removeSubrange(at...)
        }
    }
}

/// A small seeded generator so that every run mutates the same way and a
/// failure can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
