import Foundation
import Testing
@testable import ReinCatalog

/// The CBOR decoder and encoder against RFC 8949 Appendix A, botocore's own
/// Smithy RPC v2 CBOR serializer output, and hostile input.
struct CBORTests {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map { k in
            UInt8(String(decoding: digits[k...k + 1], as: UTF8.self), radix: 16) ?? 0
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func obj(_ entries: [(String, JSONValue)]) -> JSONValue {
        .object(JSONObject(entries.map { (key: $0.0, value: $0.1) }))
    }

    static func num(_ text: String) -> JSONValue { .number(text) }

    struct Vector: CustomTestStringConvertible, Sendable {
        let hex: String
        let value: JSONValue
        init(_ hex: String, _ value: JSONValue) { self.hex = hex; self.value = value }
        var testDescription: String { hex }
    }

    /// RFC 8949 Appendix A, with each diagnostic mapped to Rein's JSONValue.
    static let rfcVectors: [Vector] = [
        // Integers
        Vector("00", num("0")), Vector("01", num("1")), Vector("0a", num("10")), Vector("17", num("23")),
        Vector("1818", num("24")), Vector("1819", num("25")), Vector("1864", num("100")),
        Vector("1903e8", num("1000")), Vector("1a000f4240", num("1000000")),
        Vector("1b000000e8d4a51000", num("1000000000000")),
        Vector("1bffffffffffffffff", num("18446744073709551615")),
        Vector("3bffffffffffffffff", num("-18446744073709551616")),
        Vector("3b7fffffffffffffff", num("-9223372036854775808")),
        Vector("3b8000000000000000", num("-9223372036854775809")),
        Vector("20", num("-1")), Vector("29", num("-10")), Vector("3863", num("-100")), Vector("3903e7", num("-1000")),
        // Bignum tag: the tag is ignored and its byte string content kept (as base64).
        Vector("c249010000000000000000", .string("AQAAAAAAAAAA")),
        // Floats
        Vector("f90000", num("0.0")), Vector("f98000", num("-0.0")), Vector("f93c00", num("1.0")),
        Vector("fb3ff199999999999a", num("1.1")), Vector("f93e00", num("1.5")), Vector("f97bff", num("65504.0")),
        Vector("fa47c35000", num("100000.0")), Vector("fa7f7fffff", num("3.4028234663852886e+38")),
        Vector("fb7e37e43c8800759c", num("1e+300")), Vector("f90001", num("5.960464477539063e-08")),
        Vector("f90400", num("6.103515625e-05")), Vector("f9c400", num("-4.0")),
        Vector("fbc010666666666666", num("-4.1")),
        Vector("f97c00", num("Infinity")), Vector("f97e00", num("NaN")), Vector("f9fc00", num("-Infinity")),
        Vector("fa7f800000", num("Infinity")), Vector("fa7fc00000", num("NaN")), Vector("faff800000", num("-Infinity")),
        Vector("fb7ff0000000000000", num("Infinity")), Vector("fb7ff8000000000000", num("NaN")),
        Vector("fbfff0000000000000", num("-Infinity")),
        // Simple values
        Vector("f4", .bool(false)), Vector("f5", .bool(true)), Vector("f6", .null), Vector("f7", .null),
        // Tags
        Vector("c074323031332d30332d32315432303a30343a30305a", .string("2013-03-21T20:04:00Z")),
        Vector("c11a514b67b0", num("1363896240")),
        Vector("c1fb41d452d9ec200000", num("1363896240.5")),
        Vector("d74401020304", .string("AQIDBA==")),
        Vector("d818456449455446", .string("ZElFVEY=")),
        Vector("d82076687474703a2f2f7777772e6578616d706c652e636f6d", .string("http://www.example.com")),
        // Byte and text strings
        Vector("40", .string("")), Vector("4401020304", .string("AQIDBA==")),
        Vector("60", .string("")), Vector("6161", .string("a")), Vector("6449455446", .string("IETF")),
        Vector("62225c", .string("\"\\")), Vector("62c3bc", .string("\u{00FC}")), Vector("63e6b0b4", .string("\u{6C34}")),
        Vector("64f0908591", .string("\u{10151}")),
        // Arrays and maps
        Vector("80", .array([])), Vector("83010203", .array([num("1"), num("2"), num("3")])),
        Vector("8301820203820405", .array([num("1"), .array([num("2"), num("3")]), .array([num("4"), num("5")])])),
        Vector("98190102030405060708090a0b0c0d0e0f101112131415161718181819",
               .array((1...25).map { num(String($0)) })),
        Vector("a0", obj([])),
        Vector("a26161016162820203", obj([("a", num("1")), ("b", .array([num("2"), num("3")]))])),
        Vector("826161a161626163", .array([.string("a"), obj([("b", .string("c"))])])),
        Vector("a56161614161626142616361436164614461656145",
               obj([("a", .string("A")), ("b", .string("B")), ("c", .string("C")), ("d", .string("D")), ("e", .string("E"))])),
        // Indefinite lengths
        Vector("5f42010243030405ff", .string("AQIDBAU=")),
        Vector("7f657374726561646d696e67ff", .string("streaming")),
        Vector("9fff", .array([])),
        Vector("9f018202039f0405ffff", .array([num("1"), .array([num("2"), num("3")]), .array([num("4"), num("5")])])),
        Vector("9f01820203820405ff", .array([num("1"), .array([num("2"), num("3")]), .array([num("4"), num("5")])])),
        Vector("83018202039f0405ff", .array([num("1"), .array([num("2"), num("3")]), .array([num("4"), num("5")])])),
        Vector("83019f0203ff820405", .array([num("1"), .array([num("2"), num("3")]), .array([num("4"), num("5")])])),
        Vector("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
               .array((1...25).map { num(String($0)) })),
        Vector("bf61610161629f0203ffff", obj([("a", num("1")), ("b", .array([num("2"), num("3")]))])),
        Vector("826161bf61626163ff", .array([.string("a"), obj([("b", .string("c"))])])),
        Vector("bf6346756ef563416d7421ff", obj([("Fun", .bool(true)), ("Amt", num("-2"))])),
    ]

    @Test(arguments: rfcVectors)
    func decodesRFC8949Vector(_ v: Vector) throws {
        #expect(try CBOR.decode(Self.bytes(v.hex)) == v.value)
    }

    /// botocore 1.43.11's RpcV2CBORSerializer output for CloudWatch
    /// PutMetricData (timestamps as tag 1, doubles as float64, the
    /// StorageResolution integer in one byte).
    static let botocorePutMetricData = """
    a2694e616d657370616365695265696e2f546573746a4d65747269634461746181a86a4d65747269634e616d65674c6174656e63796a\
    44696d656e73696f6e7381a2644e616d65654167656e746556616c756566612d3120c3a96954696d657374616d70c11a69b69f406556\
    616c7565fb40290000000000006656616c75657382fb3ff0000000000000fbc00200000000000066436f756e747382fb400800000000\
    0000fb401000000000000064556e69746c4d696c6c697365636f6e64737153746f726167655265736f6c7574696f6e183c
    """

    @Test func decodesBotocorePutMetricData() throws {
        let v = try CBOR.decode(Self.bytes(Self.botocorePutMetricData))
        let expected = Self.obj([
            ("Namespace", .string("Rein/Test")),
            ("MetricData", .array([Self.obj([
                ("MetricName", .string("Latency")),
                ("Dimensions", .array([Self.obj([("Name", .string("Agent")), ("Value", .string("a-1 é"))])])),
                ("Timestamp", Self.num("1773576000")),
                ("Value", Self.num("12.5")),
                ("Values", .array([Self.num("1.0"), Self.num("-2.25")])),
                ("Counts", .array([Self.num("3.0"), Self.num("4.0")])),
                ("Unit", .string("Milliseconds")),
                ("StorageResolution", Self.num("60")),
            ])])),
        ])
        #expect(v == expected)
    }

    /// botocore 1.43.11's GetMetricData request body; re-encoded by Rein it is
    /// byte-identical apart from the tag 1 heads (0xc1) that botocore puts
    /// around timestamps and Rein's JSONValue does not keep.
    @Test func reencodesBotocoreGetMetricDataByteForByte() throws {
        let botocore = "a4714d6574726963446174615175657269657381a46249646271316a45787072657373696f6e6e53554d284d4554524943532829296a52657475726e44617461f466506572696f6419012c69537461727454696d65c11a69b5f68067456e6454696d65c11a69b748006d4d617844617461706f696e74731a000189c0"
        let v = try CBOR.decode(Self.bytes(botocore))
        #expect(v["MetricDataQueries"]?.arrayValue?.first?["ReturnData"] == .bool(false))
        #expect(v["MaxDatapoints"] == Self.num("100800"))
        #expect(Self.hex(CBOR.encode(v)) == botocore.replacingOccurrences(of: "c11a69b", with: "1a69b"))
    }

    // MARK: Encoding

    @Test func encodesPreferredSerialization() {
        let cases: [(JSONValue, String)] = [
            (Self.num("0"), "00"), (Self.num("23"), "17"), (Self.num("24"), "1818"), (Self.num("255"), "18ff"),
            (Self.num("256"), "190100"), (Self.num("65535"), "19ffff"), (Self.num("65536"), "1a00010000"),
            (Self.num("4294967295"), "1affffffff"), (Self.num("4294967296"), "1b0000000100000000"),
            (Self.num("18446744073709551615"), "1bffffffffffffffff"),
            (Self.num("-1"), "20"), (Self.num("-24"), "37"), (Self.num("-25"), "3818"), (Self.num("-1000"), "3903e7"),
            (Self.num("-18446744073709551616"), "3bffffffffffffffff"), (Self.num("-0"), "00"),
            // Beyond 64 bits, and anything with a fraction or exponent: float64.
            (Self.num("18446744073709551616"), "fb43f0000000000000"),
            (Self.num("1.1"), "fb3ff199999999999a"), (Self.num("1e2"), "fb4059000000000000"),
            (Self.num("-4.1"), "fbc010666666666666"),
            (Self.num("NaN"), "f97e00"), (Self.num("Infinity"), "f97c00"), (Self.num("-Infinity"), "f9fc00"),
            (Self.num("not a number"), "6c6e6f742061206e756d626572"),
            (.bool(false), "f4"), (.bool(true), "f5"), (.null, "f6"),
            (.string(""), "60"), (.string("IETF"), "6449455446"), (.string("\u{6C34}"), "63e6b0b4"),
            (.string(String(repeating: "x", count: 24)), "7818" + String(repeating: "78", count: 24)),
            (.array([]), "80"), (.array((1...25).map { Self.num(String($0)) }), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
            (Self.obj([("a", Self.num("1")), ("b", .array([Self.num("2"), Self.num("3")]))]), "a26161016162820203"),
            // Stored order is kept, not sorted.
            (Self.obj([("b", Self.num("1")), ("a", Self.num("2"))]), "a2616201616102"),
        ]
        for (value, hex) in cases {
            #expect(Self.hex(CBOR.encode(value)) == hex, "\(value)")
        }
    }

    @Test func roundTrips() throws {
        let values: [JSONValue] = [
            Self.obj([
                ("__type", .string("com.amazon.coral.service#AccessDeniedException")),
                ("message", .string("User: arn:aws:sts::123456789012:assumed-role/agent is not authorized — 拒绝 & <é> 😀")),
            ]),
            .array([Self.num("0"), Self.num("-1"), Self.num("9223372036854775807"), Self.num("-9223372036854775809"),
                    Self.num("18446744073709551615"), Self.num("-18446744073709551616"),
                    Self.num("1.5"), Self.num("-0.25"), Self.num("1e+300"), Self.num("5e-324"), Self.num("-0.0"),
                    Self.num("NaN"), Self.num("Infinity"), .null, .bool(true), .string(String(repeating: "é", count: 300))]),
            Self.obj((0..<300).map { ("key\($0)", Self.num(String($0 * 1000))) }),
            .array(Array(repeating: .array([]), count: 70_000)),
        ]
        for v in values {
            #expect(try CBOR.decode(CBOR.encode(v)) == v)
        }
    }

    // MARK: Refusals

    struct Invalid: CustomTestStringConvertible, Sendable {
        let name: String
        let hex: String
        let kind: CBORError.Kind
        let offset: Int
        init(_ name: String, _ hex: String, _ kind: CBORError.Kind, at offset: Int) {
            self.name = name; self.hex = hex; self.kind = kind; self.offset = offset
        }
        var testDescription: String { "\(name) (\(hex))" }
    }

    static let invalid: [Invalid] = [
        Invalid("empty", "", .truncated, at: 0),
        Invalid("duplicate key", "a2616101616102", .duplicateKey, at: 4),
        Invalid("duplicate key, indefinite map", "bf616101616102ff", .duplicateKey, at: 4),
        Invalid("duplicate key nested in an array", "8281a0a2617801617802", .duplicateKey, at: 7),
        Invalid("duplicate via indefinite key", "a26161017f6161ff02", .duplicateKey, at: 4),
        Invalid("integer keys", "a201020304", .nonStringKey, at: 1),
        Invalid("byte string key", "a1416101", .nonStringKey, at: 1),
        Invalid("array key", "a18001", .nonStringKey, at: 1),
        Invalid("trailing item", "0000", .trailingData, at: 1),
        Invalid("trailing break", "80ff", .trailingData, at: 1),
        Invalid("bare break", "ff", .unexpectedBreak, at: 0),
        Invalid("break in a definite array", "81ff", .unexpectedBreak, at: 1),
        Invalid("break as definite map key", "a1ff0000", .unexpectedBreak, at: 1),
        Invalid("reserved info 28", "1c", .malformed, at: 0),
        Invalid("reserved info 29, negative", "3d", .malformed, at: 0),
        Invalid("reserved info 30, bytes", "5e", .malformed, at: 0),
        Invalid("reserved info 28, simple", "fc", .malformed, at: 0),
        Invalid("indefinite integer", "1f", .malformed, at: 0),
        Invalid("indefinite tag", "df00", .malformed, at: 0),
        Invalid("text chunk in byte string", "5f6161ff", .malformed, at: 1),
        Invalid("nested indefinite chunk", "7f7fffff", .malformed, at: 1),
        Invalid("unterminated indefinite string", "7f6161", .truncated, at: 0),
        Invalid("unterminated indefinite array", "9f01", .truncated, at: 0),
        Invalid("invalid UTF-8", "62c328", .invalidUTF8, at: 2),
        Invalid("UTF-8 surrogate", "63eda080", .invalidUTF8, at: 2),
        Invalid("chunk splits a character", "7f61c361bcff", .invalidUTF8, at: 2),
        Invalid("invalid UTF-8 key", "a161ff00", .invalidUTF8, at: 2),
        Invalid("unassigned simple value", "f0", .unsupported, at: 0),
        Invalid("two-byte simple 255", "f8ff", .unsupported, at: 0),
        Invalid("two-byte simple below 32", "f818", .malformed, at: 0),
        Invalid("tag 1 around text", "c16161", .unsupported, at: 0),
        Invalid("truncated argument", "1a0001", .truncated, at: 1),
        Invalid("truncated float", "fb3ff1", .truncated, at: 1),
        Invalid("huge byte string", "5bffffffffffffffff", .truncated, at: 0),
        Invalid("huge array", "9b0000000100000000", .truncated, at: 0),
        Invalid("huge map", "bb7fffffffffffffff", .truncated, at: 0),
        Invalid("map count beyond input", "a2616101", .truncated, at: 0),
    ]

    @Test(arguments: invalid)
    func refusesInvalidItem(_ c: Invalid) {
        #expect {
            _ = try CBOR.decode(Self.bytes(c.hex))
        } throws: { error in
            guard let e = error as? CBORError else { return false }
            return e.kind == c.kind && e.offset == c.offset
        }
    }

    @Test func duplicateKeyNamesTheKey() {
        // {"TableName": "a", "TableName": "b"}
        let item = Self.bytes("a2695461626c654e616d6561616954" + "61626c654e616d656162")
        do {
            _ = try CBOR.decode(item)
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.kind == .duplicateKey)
            #expect(error.key == "TableName")
            #expect(error.description.contains("\"TableName\""))
        }
    }

    /// Every strict prefix of a valid item is incomplete, never a shorter valid item.
    @Test func everyTruncationIsRefused() {
        let full = Self.bytes(Self.botocorePutMetricData)
        for n in 0..<full.count {
            #expect {
                _ = try CBOR.decode(full[..<n])
            } throws: { ($0 as? CBORError)?.kind == .truncated }
        }
    }

    @Test func depthLimit() throws {
        let ok = Array(repeating: UInt8(0x81), count: 64) + [0x00]
        #expect(throws: Never.self) { try CBOR.decode(ok) }
        let deep = Array(repeating: UInt8(0x81), count: 65) + [0x00]
        #expect(throws: CBORError(.depth, at: 64, "nesting deeper than 64 levels")) { try CBOR.decode(deep) }
        // Tags nest too, so a chain of them cannot exhaust the stack.
        let tags = Array(repeating: UInt8(0xC6), count: 1_000_000) + [0x00]
        #expect { try CBOR.decode(tags) } throws: { ($0 as? CBORError)?.kind == .depth }
        let maps = Self.bytes("a16161a16161a1616100")
        #expect(throws: CBORError.self) { try CBOR.decode(maps, maxDepth: 2) }
        #expect(throws: Never.self) { try CBOR.decode(maps, maxDepth: 3) }
    }

    /// 5,000 random mutations of botocore's PutMetricData body: each decodes
    /// or throws a CBORError with an in-range offset, and whatever decodes
    /// survives an encode/decode round trip.
    @Test func randomMutationsNeverCrash() throws {
        let seed = Self.bytes(Self.botocorePutMetricData)
        let interesting: [UInt8] = [0x00, 0x17, 0x18, 0x1B, 0x1F, 0x3B, 0x40, 0x5F, 0x61, 0x7F, 0x80, 0x9F,
                                    0xA1, 0xBF, 0xC1, 0xD8, 0xF4, 0xF7, 0xF9, 0xFB, 0xFF, 0xC3, 0xED]
        var rng = SplitMix64(seed: 0xCB0F_2E1)
        var decoded = 0
        var kinds: Set<CBORError.Kind> = []
        for _ in 0..<5_000 {
            var item = seed
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<max(item.count, 1), using: &rng)
                guard !item.isEmpty else { item = [0xA1]; continue }
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: item[at] = interesting.randomElement(using: &rng) ?? 0
                case 1: item[at] = UInt8.random(in: 0...255, using: &rng)
                case 2: item.insert(interesting.randomElement(using: &rng) ?? 0, at: at)
                case 3: item.remove(at: at)
                default: item[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                }
            }
            do {
                let v = try CBOR.decode(item)
                decoded += 1
                #expect(try CBOR.decode(CBOR.encode(v)) == v)
            } catch {
                kinds.insert(error.kind)
                #expect((0...item.count).contains(error.offset))
            }
        }
        #expect(decoded > 100)
        #expect(decoded < 4_500)
        #expect(kinds.count >= 6)
    }
}
