import Foundation
import ReinCrypto
import Testing
@testable import ReinAudit

/// `rein audit verify --file`'s checks on an exported file, including the
/// forgeries an untrusted file can attempt: checkpoints moved above the
/// records they name, checkpoints stripped, a record removed.
@Suite struct OfflineChainCheckTests {
    /// A sidecar's export: 12 records, a checkpoint after records 5 and 10.
    struct Export {
        let key: Ed25519PrivateKey
        var records: [[UInt8]]
        var checkpoints: [Int: [UInt8]] // by the record index they follow

        init(sidecar: String = "sc-1", count: Int = 12, signing key: Ed25519PrivateKey? = nil) throws {
            self.key = try key ?? Ed25519PrivateKey()
            let sealed = try sealedChain(count, sidecar: sidecar)
            records = sealed.map(\.line)
            checkpoints = [:]
            for i in [4, 9] where i < count {
                let cp = try AuditCheckpoint.sign(sidecarId: sidecar, sequence: sealed[i].sequence, hash: sealed[i].hash,
                                                  time: "2026-11-29T00:00:00.000Z", key: self.key)
                checkpoints[i] = try cp.jsonLine()
            }
        }

        var lines: [[UInt8]] {
            records.indices.flatMap { [records[$0]] + (checkpoints[$0].map { [$0] } ?? []) }
        }

        var publicKey: Ed25519PublicKeyHex { Ed25519PublicKeyHex(hex: key.publicKey.description) }
    }

    static func check(_ lines: [[UInt8]], keys: OfflineChainCheck.Keys, requireSignatures: Bool = false) -> OfflineChainCheck {
        var check = OfflineChainCheck(source: "export.jsonl", keys: keys, requireSignatures: requireSignatures)
        for (n, line) in lines.enumerated() {
            var l = line
            if l.last == UInt8(ascii: "\n") { l.removeLast() }
            check.read(l, number: n + 1)
        }
        check.finish()
        return check
    }

    /// Record 5 (sequence 6) edited and the chain resealed after it, as an
    /// attacker holding the file but not the key would.
    static func rewritten(_ export: Export) throws -> Export {
        var forged = export
        var chain = AuditChain()
        var lines: [[UInt8]] = []
        for (i, line) in export.records.enumerated() {
            var r = try ChainedLine(parsing: line).record
            if i == 5 { r.decision = "allow"; r.reason = "nothing to see" }
            lines.append(try chain.seal(&r).line)
        }
        forged.records = lines
        return forged
    }

    @Test func aCleanExportVerifiesAndSaysHowFarItIsSigned() throws {
        let export = try Export()
        let check = Self.check(export.lines, keys: .init(all: export.publicKey))
        #expect(check.findings.isEmpty)
        #expect(check.records == 12 && check.checkpoints == 2)
        #expect(check.chains["sc-1"]?.signedThrough == 10)
        #expect(check.chains["sc-1"]?.head.lastSequence == 12)
    }

    @Test func rewrittenHistoryFailsWhereverItsCheckpointsStand() throws {
        let forged = try Self.rewritten(try Export())
        let inPlace = Self.check(forged.lines, keys: .init(all: forged.publicKey))
        // Record 6 onwards was resealed: the checkpoint at 5 still holds, the one at 10 does not.
        #expect(inPlace.findings.map(\.kind) == [.checkpointMismatch] && inPlace.findings.first?.sequence == 10)
        // The same checkpoints moved above the records: checked only once every record is read.
        let moved = Self.check(Array(forged.checkpoints.values) + forged.records, keys: .init(all: forged.publicKey))
        #expect(moved.findings.map(\.kind) == [.checkpointMismatch] && moved.findings.first?.sequence == 10)
        // Every checkpoint stripped: nothing signed shows the records are the sidecar's.
        // The summary says so; a new sidecar's export looks the same, so it fails
        // only when signatures are required.
        let stripped = Self.check(forged.records, keys: .init(all: forged.publicKey))
        #expect(stripped.findings.isEmpty && stripped.chains["sc-1"]?.signedThrough == nil)
        let required = Self.check(forged.records, keys: .init(all: forged.publicKey), requireSignatures: true)
        #expect(required.findings.map(\.kind) == [.unsigned])
        #expect(required.findings.first?.detail.contains("records 1…12") == true)
        // Without a key nothing says the file is the sidecar's, and nothing fails: the summary says so.
        #expect(Self.check(forged.records, keys: .init()).findings.isEmpty)
    }

    @Test func aCheckpointNamingARecordTheFileLacksIsAFinding() throws {
        var export = try Export()
        export.records.removeLast(3) // records 10…12 cut off; the checkpoint naming 10 stays
        let lines = export.records + export.checkpoints.sorted { $0.key < $1.key }.map(\.value)
        let check = Self.check(lines, keys: .init(all: export.publicKey))
        #expect(check.findings.map(\.kind) == [.checkpointMismatch])
        #expect(check.findings.first?.sequence == 10)
    }

    @Test func aWholeTrailVerifiesWithOneKeyPerSidecar() throws {
        let a = try Export(sidecar: "sc-a"), b = try Export(sidecar: "sc-b", count: 6)
        let lines = a.lines + b.lines
        let perSidecar = Self.check(lines, keys: .init(bySidecar: ["sc-a": a.publicKey, "sc-b": b.publicKey]))
        #expect(perSidecar.findings.isEmpty)
        #expect(perSidecar.chains["sc-b"]?.signedThrough == 5)
        // One key for the whole file: the other sidecar's checkpoints are not its.
        let one = Self.check(lines, keys: .init(all: a.publicKey), requireSignatures: true)
        #expect(one.findings.map(\.kind) == [.unknownKey, .unsigned])
        // A key for one sidecar only: the other's checkpoints are not checked, and not failed.
        let partial = Self.check(lines, keys: .init(bySidecar: ["sc-a": a.publicKey]))
        #expect(partial.findings.isEmpty && partial.chains["sc-b"]?.keyGiven == false)
    }

    @Test(arguments: ["0", "-9223372036854775808", "9223372036854775807"])
    func outOfRangeSequencesAreMalformedNotACrash(sequence: String) throws {
        let export = try Export(count: 2)
        var text = String(decoding: export.records[0], as: UTF8.self)
        text = text.replacingOccurrences(of: "\"sequence\":1,", with: "\"sequence\":\(sequence),")
        let checkpoint = #"{"hash":"00","public_key":"00","schema":"rein.checkpoint/v1","sequence":"# + sequence
            + #","sidecar_id":"sc-1","signature":"00","time":"2026-11-29T00:00:00.000Z"}"#
        let check = Self.check([Array(text.utf8), Array(checkpoint.utf8)], keys: .init(all: export.publicKey))
        #expect(check.findings.map(\.kind) == [.malformed, .malformed])
    }

    @Test func aHeadStoredAtTheLimitDoesNotOverflow() throws {
        var v = ChainVerifier(sidecarId: "sc-1", head: AuditChain(lastSequence: .max, lastHash: AuditChain.genesis))
        let line = try parse(try sealedChain(1)[0])
        #expect(v.admit(line).map(\.kind) == [.outOfOrder])
    }
}
