import Foundation
import ReinCrypto
import Testing
@testable import ReinAudit

/// Builds a sealed chain of `count` records for one sidecar.
func sealedChain(_ count: Int, sidecar: String = "sc-1") throws -> [SealedRecord] {
    var chain = AuditChain()
    return try (1...count).map { i in
        var r = AuditRecord(recordId: "rec-\(i)", time: "2026-11-29T00:00:0\(i % 10).000Z", sidecarId: sidecar, via: "endpoint",
                            decision: i % 3 == 0 ? "deny" : "allow")
        r.agentId = "agent-a"
        r.operation = "GetObject"
        r.grants = [AuditRecord.Grant(action: "s3:GetObject", resources: ["arn:aws:s3:::bucket/k\(i)"])]
        r.reason = "line \"\(i)\"\nwith escapes \\ ü"
        return try chain.seal(&r)
    }
}

func parse(_ s: SealedRecord) throws -> ChainedLine { try ChainedLine(parsing: s.line) }

@Suite struct AuditChainTests {
    @Test func sealingLinksEachRecordToThePreviousOne() throws {
        let records = try sealedChain(4)
        #expect(records.map(\.sequence) == [1, 2, 3, 4])
        let lines = try records.map(parse)
        #expect(lines[0].record.prevHash == AuditChain.genesis)
        for i in 1..<lines.count {
            #expect(lines[i].record.prevHash == records[i - 1].hash)
        }
        for (line, sealed) in zip(lines, records) {
            #expect(line.claimedHash == sealed.hash)
            #expect(line.computedHash == sealed.hash)
            #expect(line.record.hash == sealed.hash)
            #expect(line.record.reason?.contains("ü") == true)
        }
    }

    /// A record prepared off the writer seals to exactly the bytes the
    /// record itself seals to: minimal and full records, sequences of one to
    /// seven digits, a chain resumed from a stored head.
    @Test func aPreparedRecordSealsToTheSameBytes() throws {
        var minimal = AuditRecord(recordId: "r-min", time: "2026-11-29T00:00:00.000Z", sidecarId: "sc-1", via: "endpoint", decision: "allow")
        minimal.grants = []
        var full = minimal
        full.recordId = "r-full"
        full.agentId = "agent \"a\""
        full.taskId = "task-1"
        full.accessKeyId = "ASIAEXAMPLE"
        full.sourceAddress = "127.0.0.1"
        full.userAgent = "Boto3/1.35 \u{1}"
        full.service = "s3"
        full.region = "eu-west-1"
        full.operation = "GetObject"
        full.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::b/k", "arn:aws:s3:::b/é"])]
        full.statementId = "st"
        full.reason = "line\nbreak"
        full.mode = "enforce"
        full.forwarded = true
        full.errorCode = "X"
        full.upstreamHost = "b.s3.amazonaws.com"
        full.upstreamStatus = 200
        full.awsRequestId = "REQ"
        full.brokerSource = "static"
        full.brokerRole = "arn:aws:iam::1:role/r"
        full.brokerSession = "s"
        full.approver = "alice"
        full.grantId = "g"
        full.holdId = "h"
        full.policyVersion = "3"
        full.bytesIn = 5
        full.bytesOut = 6
        full.latency = .init(verifyMs: 0.012, decideMs: 0.003, holdMs: 1, upstreamMs: 0.31, totalMs: 0.4)
        full.event = "hold-approved"
        full.prevHash = "ignored"
        full.sequence = 77
        for start: Int64 in [0, 8, 98, 999_998, 9_999_998] {
            let head = AuditChain(lastSequence: start, lastHash: start == 0 ? AuditChain.genesis : SHA256.hash("head \(start)").hex)
            var direct = head
            var prepared = head
            for record in [minimal, full, minimal, full] {
                var r = record
                let expected = try direct.seal(&r)
                let actual = prepared.seal(PreparedRecord(record))
                #expect(actual == expected, "from \(start)")
                #expect(try ChainedLine(parsing: actual.line).computedHash == actual.hash)
            }
            #expect(prepared == direct)
        }
    }

    @Test func theHashCoversTheLineWithoutItsHashKey() throws {
        var chain = AuditChain()
        var r = AuditRecord(recordId: "x", time: "2026-11-29T00:00:00.000Z", sidecarId: "s", via: "endpoint", decision: "allow")
        let sealed = try chain.seal(&r)
        r.hash = nil
        let body = try r.jsonLine()
        #expect(AuditChain.hash(of: body) == sealed.hash)
        #expect(SHA256.hash(body).hex == sealed.hash)
        let text = String(decoding: sealed.line, as: UTF8.self)
        #expect(text.hasSuffix(",\"hash\":\"\(sealed.hash)\"}\n"))
        #expect(!String(decoding: body, as: UTF8.self).contains("\"hash\""))
    }

    @Test func aCleanChainVerifiesWithNoFindings() throws {
        var v = ChainVerifier(sidecarId: "sc-1")
        for s in try sealedChain(20) { #expect(v.admit(try parse(s)).isEmpty) }
        #expect(v.head.lastSequence == 20)
    }

    @Test func anEditedRecordIsFlaggedAtItsOwnSequenceOnly() throws {
        var records = try sealedChain(6)
        let text = String(decoding: records[2].line, as: UTF8.self).replacingOccurrences(of: "\"decision\":\"deny\"", with: "\"decision\":\"allow\"")
        records[2] = SealedRecord(sequence: 3, recordId: "rec-3", hash: records[2].hash, line: Array(text.utf8))
        var v = ChainVerifier(sidecarId: "sc-1")
        let findings = try records.flatMap { v.admit(try parse($0)) }
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .hashMismatch)
        #expect(findings.first?.sequence == 3)
    }

    @Test func aDeletedRecordIsAGapAtItsSequence() throws {
        var records = try sealedChain(6)
        records.remove(at: 3) // sequence 4
        var v = ChainVerifier(sidecarId: "sc-1")
        let findings = try records.flatMap { v.admit(try parse($0)) }
        #expect(findings.map(\.kind) == [.gap])
        #expect(findings.first?.sequence == 4)
    }

    @Test func swappedRecordsAreFlaggedAsOutOfOrder() throws {
        var records = try sealedChain(6)
        records.swapAt(1, 2) // 1, 3, 2, 4, …
        var v = ChainVerifier(sidecarId: "sc-1")
        let findings = try records.flatMap { v.admit(try parse($0)) }
        #expect(findings.map(\.kind) == [.gap, .outOfOrder])
        #expect(findings.allSatisfy { $0.sequence == 2 })
    }

    /// Two chains under one sidecar id (a restarted spool, a fork) say so.
    @Test func aSecondRecordAtTheSameSequenceIsNamedAFork() throws {
        let first = try sealedChain(3)
        let other = try sealedChain(3).map { s in
            SealedRecord(sequence: s.sequence, recordId: s.recordId + "-b", hash: s.hash, line: s.line)
        }
        var v = ChainVerifier(sidecarId: "sc-1")
        _ = try first.flatMap { v.admit(try parse($0)) }
        let findings = v.admit(try parse(other[2]))
        #expect(findings.map(\.kind) == [.outOfOrder])
        #expect(findings.first?.detail.contains("forked or restarted") == true)
    }

    @Test func aReplacedRecordWithARecomputedHashBreaksTheNextLink() throws {
        var records = try sealedChain(5)
        // Re-seal a forged record 3 on a chain rebuilt up to record 2.
        var chain = AuditChain(lastSequence: 2, lastHash: records[1].hash)
        var forged = try parse(records[2]).record
        forged.decision = "allow"
        forged.reason = "forged"
        records[2] = try chain.seal(&forged)
        var v = ChainVerifier(sidecarId: "sc-1")
        let findings = try records.flatMap { v.admit(try parse($0)) }
        #expect(findings.map(\.kind) == [.chainBreak])
        #expect(findings.first?.sequence == 4)
    }

    @Test func malformedLinesAreRefusedWithAReason() {
        #expect(throws: AuditLineError.self) { try ChainedLine(parsing: Array("{\"a\":1}\n".utf8)) }
        let noHash = Array(String(repeating: "x", count: 120).utf8)
        #expect(throws: AuditLineError.self) { try ChainedLine(parsing: noHash) }
    }

    /// The claimed hash is exactly 64 lower-case hex digits; any other byte
    /// in any place of it refuses the line.
    @Test func theClaimedHashIsSixtyFourLowerCaseHexDigits() throws {
        var chain = AuditChain()
        var r = AuditRecord(recordId: "x", time: "2026-11-29T00:00:00.000Z", sidecarId: "s", via: "endpoint", decision: "allow")
        let sealed = try chain.seal(&r)
        let line = Array(sealed.line.dropLast())
        #expect(try ChainedLine.claimedHash(ofLine: line) == sealed.hash)
        let first = line.count - 2 - 64
        for place in [first, first + 31, first + 63] {
            for bad in Array("AFgz/:`G \u{7f}".utf8) + [0x80, 0xFF] {
                var edited = line
                edited[place] = bad
                #expect(throws: AuditLineError.self, "byte \(bad) at \(place - first)") { try ChainedLine.claimedHash(ofLine: edited) }
            }
        }
    }
}
