import Foundation
import ReinAudit
import ReinCrypto
import Testing
@testable import ReinStore

/// The fast line scanner and verifier against the authoritative decoder
/// (``ChainedLine``) and ``ChainVerifier``: they must agree on every line.
@Suite struct CollectorLineTests {
    /// Hand-written lines in shapes other clients may produce: other key
    /// order, whitespace, escapes, non-ASCII text, unknown keys, nulls.
    static let bodies: [String] = [
        #"{"schema":"rein.audit/v1","record_id":"r-1","sequence":1,"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","time":"2026-03-01T10:00:00.000Z","sidecar_id":"sc-1","via":"endpoint","decision":"allow""#,
        #"{ "via" : "proxy", "decision":"deny", "grants":[{"resources":["arn:aws:s3:::b/\u00e9t\u00e9\/x","arn:aws:s3:::b/\"q\""],"action":"s3:GetObject","extra":{"n":[1,2.5e3,null,true]}}], "schema":"rein.audit/v1","record_id":"r-2","time":"2026-03-01T10:00:00Z","sidecar_id":"sc-1","sequence":2,"agent_id":"agënt-ü","task_id":null,"event":null,"latency":{"total_ms":1.25,"other":"x"},"future_key":{"a":[{}]}"#,
        #"{"schema":"rein.audit/v1","record_id":"r-3","sequence":3,"time":"not a time","sidecar_id":"sc-1","via":"endpoint","decision":"error","event":"call","grants":[],"upstream_status":503,"bytes_in":-1,"forwarded":false,"user_agent":"tab\there \ud83d\ude00""#,
    ]

    /// A line as a sidecar would ship it: `body`, then the hash of its bytes.
    static func chained(_ body: String) -> [UInt8] {
        let hashed = Array((body + "}\n").utf8)
        return Array((body + ",\"hash\":\"\(AuditChain.hash(of: hashed))\"}").utf8)
    }

    /// A sequence outside 1…2^53−1 is malformed on both paths: a head at
    /// Int64.max made the next record's `+ 1` stop the collector.
    @Test(arguments: ["0", "-1", "9007199254740992", "9223372036854775807"])
    func aSequenceOutOfRangeIsMalformed(sequence: String) {
        let line = Self.chained(#"{"schema":"rein.audit/v1","record_id":"r-9","sequence":"# + sequence + #","time":"2026-03-01T10:00:00Z","sidecar_id":"sc-1","via":"endpoint","decision":"allow""#)
        #expect(throws: AuditLineError.self) { try ChainedLine(parsing: line) }
        #expect(throws: AuditLineError.self) { try IngestRecord(line: line) }
    }

    @Test(arguments: bodies)
    func scannerAgreesWithTheDecoder(body: String) throws {
        let line = Self.chained(body)
        let fields = line.withUnsafeBufferPointer { AuditLineScanner.scan($0) }
        let scanned = try #require(fields, "the scanner gave up on a well-formed line")
        let decoded = try ChainedLine(parsing: line)
        let r = decoded.record
        #expect(scanned.recordId == r.recordId)
        #expect(scanned.sequence == r.sequence)
        #expect(scanned.prevHash == r.prevHash)
        #expect(scanned.time == r.time)
        #expect(scanned.sidecarId == r.sidecarId)
        #expect(scanned.agentId == r.agentId)
        #expect(scanned.taskId == r.taskId)
        #expect(scanned.event == r.event)
        #expect(scanned.decision == r.decision)
        #expect(scanned.grants == r.grants)
        let record = try IngestRecord(line: line)
        #expect(record.computedHash == decoded.computedHash)
        #expect(record.claimedHash == decoded.claimedHash)
    }

    @Test func sealedRecordsScanToTheirFields() throws {
        var chain = try TestChain()
        let line = try chain.seal { r in
            r.reason = "line\nbreak \"quoted\" \\ back"
            r.grants = [.init(action: "s3:PutObject", resources: []), .init(action: "kms:Decrypt", resources: ["k1", "k2"])]
        }
        let record = try IngestRecord(line: line)
        let decoded = try ChainedLine(parsing: line).record
        #expect(record.grants == decoded.grants)
        #expect(record.recordId == decoded.recordId)
        #expect(record.computedHash == record.claimedHash)
        #expect(record.timeMillis == RFC3339Time.milliseconds(decoded.time))
    }

    /// The scanner skips 8 bytes at a time inside strings: a quote, an
    /// escape or a raw control byte at every offset within a word is still seen.
    @Test func specialBytesAtEveryOffsetInAWord() throws {
        for k in 0..<17 {
            var chain = try TestChain()
            let agent = String(repeating: "a", count: k) + "\"q\\\u{1}é" + String(repeating: "b", count: 16 - k)
            let line = try chain.seal { r in r.agentId = agent }
            let record = try IngestRecord(line: line)
            #expect(record.agentId == agent, "offset \(k)")
            #expect(record.computedHash == record.claimedHash)
            // A raw control byte inside a string is not JSON: neither the scanner nor the decoder takes it.
            var plain = try chain.seal { r in r.agentId = String(repeating: "c", count: 24) }
            let at = try #require(plain.firstRange(of: Array("cccc".utf8))).lowerBound + k
            plain[at] = 0x01
            #expect(plain.withUnsafeBufferPointer { AuditLineScanner.scan($0) } == nil, "offset \(k)")
            #expect((try? IngestRecord(line: plain)) == nil, "offset \(k)")
        }
    }

    /// Lines the scanner must not accept on its own; the decoder decides.
    @Test(arguments: [
        (#"{"schema":"rein.audit/v1","schema":"rein.audit/v1","record_id":"r","time":"t","sidecar_id":"s","via":"v","decision":"d""#, "duplicate key"),
        (#"{"schema":"rein.audit/v2","record_id":"r","time":"t","sidecar_id":"s","via":"v","decision":"d""#, "other schema"),
        (#"{"schema":"rein.audit/v1","record_id":"r","time":"t","sidecar_id":"s","via":"v""#, "missing decision"),
        (#"{"schema":"rein.audit/v1","record_id":"r","time":"t","sidecar_id":"s","via":"v","decision":"d","sequence":"1""#, "sequence as a string"),
        (#"{"schema":"rein.audit/v1","record_id":"r","time":"t","sidecar_id":"s","via":"v","decision":null"#, "null decision"),
    ])
    func scannerDefersToTheDecoder(body: String, why: String) throws {
        let line = Self.chained(body)
        let fields = line.withUnsafeBufferPointer { AuditLineScanner.scan($0) }
        #expect(fields == nil, "\(why)")
        // IngestRecord then says what the decoder says.
        let decoderAccepts = (try? ChainedLine(parsing: line)) != nil
        let ingestAccepts = (try? IngestRecord(line: line)) != nil
        #expect(decoderAccepts == ingestAccepts, "\(why)")
    }

    @Test func rfc3339Parsing() {
        #expect(RFC3339Time.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339Time.milliseconds("2026-03-01T10:00:00.123Z") == 1_772_359_200_123)
        #expect(RFC3339Time.milliseconds("2026-03-01T12:00:00.5+02:00") == 1_772_359_200_500)
        #expect(RFC3339Time.milliseconds("2026-03-01") == nil)
        // Days that do not exist are not dates.
        #expect(RFC3339Time.milliseconds("2026-02-31T00:00:00Z") == nil)
        #expect(RFC3339Time.milliseconds("2026-04-31T00:00:00Z") == nil)
        #expect(RFC3339Time.milliseconds("2026-02-29T00:00:00Z") == nil)
        #expect(RFC3339Time.milliseconds("2028-02-29T00:00:00Z") != nil)
        #expect(RFC3339Time.milliseconds("2100-02-29T00:00:00Z") == nil)
        #expect(RFC3339Time.milliseconds("2026-13-01T00:00:00Z") == nil)
        #expect(RFC3339Time.string(milliseconds: 1_772_359_200_123) == "2026-03-01T10:00:00.123Z")
    }

    /// The verifier's fast path reports exactly what ChainVerifier reports,
    /// on clean and tampered sequences alike.
    @Test(arguments: ["clean", "edit", "delete", "reorder", "splice", "foreign"])
    func fastVerifierMatchesChainVerifier(tamper: String) throws {
        var chain = try TestChain()
        var lines = try chain.seal(count: 8)
        switch tamper {
        case "edit": lines[3] = Array(String(decoding: lines[3], as: UTF8.self).replacingOccurrences(of: "\"allow\"", with: "\"deny\"").utf8)
        case "delete": lines.remove(at: 4)
        case "reorder": lines.swapAt(2, 3)
        case "splice":
            var other = try TestChain()
            lines[5] = try other.seal(count: 6)[5]
        case "foreign":
            var other = try TestChain(sidecarId: "sc-2")
            lines[1] = try other.seal(count: 2)[1]
        default: break
        }
        var reference = ChainVerifier(sidecarId: "sc-1")
        var fast = IngestVerifier(sidecarId: "sc-1", head: AuditChain())
        var expected: [IntegrityFinding] = []
        var actual: [IntegrityFinding] = []
        for line in lines {
            expected += reference.admit(try ChainedLine(parsing: line))
            actual += fast.admit(try IngestRecord(line: line))
            #expect(fast.head == reference.head)
        }
        #expect(actual == expected)
        #expect(tamper == "clean" ? actual.isEmpty : !actual.isEmpty)
    }
}
