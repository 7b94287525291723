import Foundation
import Testing
@testable import ReinAudit

struct AuditTimestampTests {
    @Test func timestampIsRFC3339Milliseconds() {
        #expect(AuditRecord.timestamp(Date(timeIntervalSince1970: 1_795_000_000.1234)) == "2026-11-18T11:06:40.123Z")
        #expect(AuditRecord.timestamp(Date(timeIntervalSince1970: 946_684_800.0005)) == "2000-01-01T00:00:00.000Z")
        #expect(AuditRecord.timestamp(Date(timeIntervalSince1970: 951_825_599.9995)) == "2000-02-29T11:59:59.999Z")
    }

    /// The hand-written digits agree with the calendar over many instants.
    @Test func timestampAgreesWithTheCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let ms = Int64.random(in: 0..<4_102_444_800_000, using: &generator) // 1970 to 2100
            let date = Date(timeIntervalSince1970: (Double(ms) + 0.5) / 1000)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0,
                                  c.minute ?? 0, c.second ?? 0, Int(ms % 1000))
            #expect(AuditRecord.timestamp(date) == expected)
        }
    }
}

struct AuditRecordJSONTests {
    @Test func handWrittenLineMatchesWhatJSONDecoderReadsBack() throws {
        var r = AuditRecord(recordId: "id-1", time: "2026-11-29T00:00:00.000Z", sidecarId: "sc", via: "proxy", decision: "deny")
        r.agentId = "agent \"quoted\" \\ back"
        r.userAgent = "ua\nwith\tcontrol\u{01}"
        r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::b/k", "arn:aws:s3:::b/ü"])]
        r.upstreamStatus = 403
        r.latency = AuditRecord.Latency(verifyMs: 0.0123, decideMs: 1.5, upstreamMs: nil, totalMs: 12.3456)
        r.bytesIn = 42
        let line = try r.jsonLine()
        #expect(line.last == UInt8(ascii: "\n"))
        let decoded = try JSONDecoder().decode(AuditRecord.self, from: Data(line.dropLast()))
        #expect(decoded.agentId == r.agentId && decoded.userAgent == r.userAgent && decoded.grants == r.grants)
        #expect(decoded.upstreamStatus == 403 && decoded.bytesIn == 42 && decoded.forwarded == false)
        #expect(decoded.latency.verifyMs == 0.012 && decoded.latency.totalMs == 12.346 && decoded.latency.upstreamMs == nil)
        let text = String(decoding: line, as: UTF8.self)
        #expect(!text.contains("upstream_host") && !text.contains("\"upstream_ms\""))
        // RFC 8259 escapes, byte for byte (the chain hashes these bytes).
        #expect(text.contains(#""agent_id":"agent \"quoted\" \\ back""#))
        #expect(text.contains(#""user_agent":"ua\nwith\tcontrol\u0001""#))
        #expect(text.contains("\"arn:aws:s3:::b/ü\""))
        // Keys come out sorted, as the JSON Lines consumers diff them.
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]).keys.sorted()
        let order = keys.compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(order == order.sorted())
    }
}

struct AuditRecordLineBytesTests {
    /// The exact bytes (the chain hashes them, so the encoder may never
    /// change them): key order, number forms, latency precision, escapes.
    @Test func lineBytesAreStable() throws {
        var r = AuditRecord(recordId: "id-1", time: "2026-11-29T00:00:00.000Z", sidecarId: "sc", via: "proxy", decision: "deny")
        r.bytesIn = -1
        r.bytesOut = Int64.max
        r.sequence = 12345
        r.prevHash = "ab"
        r.reason = "q\"b\\n\nt\t\u{7}/é"
        r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::b/k", "x"]), .init(action: "s3:ListBucket", resources: [])]
        r.latency = AuditRecord.Latency(verifyMs: 0.0123, decideMs: 0, holdMs: 1000.0005, upstreamMs: -3, totalMs: 12.3456)
        let expected = #"{"bytes_in":-1,"bytes_out":9223372036854775807,"decision":"deny","event":"call","forwarded":false,"#
            + #""grants":[{"action":"s3:GetObject","resources":["arn:aws:s3:::b/k","x"]},{"action":"s3:ListBucket","resources":[]}],"#
            + #""latency":{"decide_ms":0.000,"hold_ms":1000.001,"total_ms":12.346,"upstream_ms":0,"verify_ms":0.012},"#
            + #""prev_hash":"ab","reason":"q\"b\\n\nt\t\u0007/é","record_id":"id-1","schema":"rein.audit/v1","sequence":12345,"#
            + #""sidecar_id":"sc","time":"2026-11-29T00:00:00.000Z","via":"proxy"}"# + "\n"
        #expect(String(decoding: try r.jsonLine(), as: UTF8.self) == expected)
    }
}

struct AuditRecordLongLineTests {
    /// Lines longer than the encoder's first buffer (2 KiB) grow it, and
    /// every number keeps its digits at the edges of its range.
    @Test func longLinesGrowTheBufferAndNumbersKeepTheirDigits() throws {
        let cases: [(Int64, String)] = [(Int64.min, "-9223372036854775808"), (0, "0"), (9, "9"), (10, "10"), (-10, "-10"),
                                        (999_999_999_999_999_999, "999999999999999999"),
                                        (1_000_000_000_000_000_000, "1000000000000000000")]
        for (bytesIn, digits) in cases {
            var r = AuditRecord(recordId: "id-1", time: "2026-11-29T00:00:00.000Z", sidecarId: "sc", via: "proxy", decision: "allow")
            r.bytesIn = bytesIn
            r.reason = String(repeating: "long \"quoted\" reason ", count: 300) // about 6.6 KB, escaped on the way
            r.grants = (0..<40).map { .init(action: "s3:GetObject", resources: ["arn:aws:s3:::bucket/key-\($0)"]) }
            let line = try r.jsonLine()
            #expect(line.count > 8_000)
            let text = String(decoding: line, as: UTF8.self)
            #expect(text.hasPrefix("{\"bytes_in\":\(digits),\"bytes_out\":0,"), "\(text.prefix(60))")
            #expect(text.hasSuffix("\"via\":\"proxy\"}\n"))
            let decoded = try JSONDecoder().decode(AuditRecord.self, from: Data(line.dropLast()))
            #expect(decoded.bytesIn == bytesIn && decoded.reason == r.reason && decoded.grants == r.grants)
        }
    }
}

struct AuditRecordIdTests {
    @Test func recordIdsAreVersion4UUIDs() throws {
        var seen = Set<String>()
        // 1,000 ids draw 16,000 bytes: the pool refills several times.
        for _ in 0..<1000 {
            let id = AuditRecord.newRecordId()
            let uuid = try #require(UUID(uuidString: id))
            #expect(id == uuid.uuidString.lowercased())
            #expect(Array(id)[14] == "4" && "89ab".contains(Array(id)[19]))
            seen.insert(id)
        }
        #expect(seen.count == 1000)
    }
}

struct JSONSpecialBytesTests {
    /// Never misses a special byte at any position, and flags no word of
    /// plain bytes (printable ASCII other than quote and backslash, UTF-8).
    @Test func everySpecialByteAtEveryPositionIsSeenAndPlainWordsAreNot() {
        for position in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(value)
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let special = value < 0x20 || value == 0x22 || value == 0x5C
                if special {
                    #expect(JSONSpecialBytes.mayContainSpecial(word), "byte \(value) at \(position)")
                } else {
                    #expect(!JSONSpecialBytes.mayContainSpecial(word), "byte \(value) at \(position)")
                }
            }
        }
    }

    /// The lowest flagged byte is exactly the first special one, whatever
    /// follows it (the borrows that flag plain bytes only run upward). Every
    /// pair of a special byte at one position and any byte after it.
    @Test func theLowestFlaggedByteIsTheFirstSpecialOne() {
        let specials: [UInt8] = Array(0..<0x20) + [0x22, 0x5C]
        let plains: [UInt8] = [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x61, 0x7F, 0x80, 0xC3, 0xFF]
        for position in 0..<8 {
            for special in specials {
                for later in position + 1..<9 {
                    for follower in (0...255).map(UInt8.init) {
                        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                        bytes[position] = special
                        if later < 8 { bytes[later] = follower }
                        let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                        let first = JSONSpecialBytes.specialBits(word).trailingZeroBitCount / 8
                        if first != position {
                            Issue.record("special \(special) at \(position), byte \(follower) at \(later): flagged \(first)")
                            return
                        }
                        if later == 8 { break }
                    }
                }
            }
            // No special byte: the plain ones before a position are never flagged.
            for plain in plains {
                var bytes = [UInt8](repeating: plain, count: 8)
                bytes[position] = 0x22
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(JSONSpecialBytes.specialBits(word).trailingZeroBitCount / 8 == position, "plain \(plain), quote at \(position)")
            }
        }
    }
}

/// Sidecar ids are host-name characters only: nothing invisible or look-alike.
@Suite struct SidecarIdentifierTests {
    @Test(arguments: ["sc-1", "web-7.prod.svc", "ip-10-0-0-1.ec2.internal", "Host_1:7474", "agent@node-3"])
    func hostAndPodNamesAreIds(id: String) {
        #expect(SidecarIdentifier.problem(id) == nil)
    }

    @Test(arguments: ["", String(repeating: "a", count: 129), "sc-1\u{200B}", "sc-1\u{00AD}", "\u{0441}ollector", "sc 1", "sc/1", "sc-1\n"])
    func invisibleLookAlikeAndOddCharactersAreNot(id: String) {
        #expect(SidecarIdentifier.problem(id) != nil)
    }
}
