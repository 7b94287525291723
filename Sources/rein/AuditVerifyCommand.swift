import ArgumentParser
import Foundation
import ReinAudit
import ReinCollectorClient

/// `rein audit verify`: re-verifies a range of a sidecar's chain, on the
/// collector (`--sidecar`) or offline from an exported JSONL file (`--file`).
///
/// Why offline too: an investigator must be able to check an export without
/// trusting the collector that produced it; the file carries every record's
/// `prev_hash` and `hash`, and checkpoint lines carry signatures that the
/// sidecar's registered public key (`--public-key`) verifies.
struct AuditVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-verify a sidecar's hash chain and signed checkpoints; exits 1 on any finding.")

    @Option(help: "Verify this sidecar's stored chain on the collector.") var sidecar: String?
    @Option(help: "From this sequence number.") var from: Int64?
    @Option(help: "To this sequence number.") var to: Int64?
    @Option(help: "Verify an exported JSONL file offline instead (records and checkpoint lines).") var file: String?
    @Option(help: "With --file: the sidecar's registered Ed25519 public key (hex), to check checkpoint signatures.") var publicKey: String?
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        if let file { return try verifyFile(file) }
        guard let sidecar else { throw ValidationError("give --sidecar ID (on the collector) or --file FILE (offline)") }
        var q = [("sidecar", sidecar)]
        if let from { q.append(("from", String(from))) }
        if let to { q.append(("to", String(to))) }
        do {
            let body = try collector.client(timeout: 600).getJSON("/v1/audit/verify", query: q)
            if json { FileHandle.standardOutput.write(Data(body + [10])) }
            let obj = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            let findings = (obj["findings"] as? [[String: Any]]) ?? []
            if !json {
                if let floor = obj["retained_from"] as? Int {
                    print("sidecar \(sidecar): records before \(floor) were deleted by retention (not checked); checking from \(floor)")
                }
                print("sidecar \(sidecar): \(obj["records"] ?? "?") records, \(obj["checkpoints"] ?? "?") checkpoints checked, \(findings.count) findings")
                for f in findings { print("  \(f["kind"] ?? "?") at \(f["sequence"] ?? "-"): \(f["detail"] ?? "")") }
            }
            if !(obj["ok"] as? Bool ?? false) { throw ExitCode(1) }
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }

    private func verifyFile(_ path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it is not readable" : "no such file"
            throw CommandFailure.failed("cannot read \(path): \(reason)")
        }
        let key = publicKey.map(Ed25519PublicKeyHex.init(hex:))
        if let key, key.key == nil { throw ValidationError("--public-key must be an Ed25519 public key as 64 hex digits") }
        let lines = data.split(separator: UInt8(ascii: "\n"))
        if let kind = Self.exportKind(lines.first.map(Array.init) ?? []) {
            throw CommandFailure.failed("\(path) is \(kind) export: offline verification reads the JSONL export, whose lines carry the hashes (rein audit export --format jsonl)")
        }
        var verifiers: [String: ChainVerifier] = [:]
        var hashes: [String: [Int64: String]] = [:]
        var findings: [IntegrityFinding] = []
        var records = 0, checkpoints = 0
        for (n, raw) in lines.enumerated() {
            let line = Array(raw)
            if AuditCheckpoint.isCheckpointLine(line) {
                guard let cp = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(line)) else {
                    findings.append(IntegrityFinding(kind: .malformed, sidecarId: "?", sequence: nil, detail: "\(path):\(n + 1): unreadable checkpoint"))
                    continue
                }
                checkpoints += 1
                let v = verifiers[cp.sidecarId] ?? ChainVerifier(sidecarId: cp.sidecarId)
                if let key {
                    findings += v.check(cp, registeredKey: key, storedHash: hashes[cp.sidecarId]?[cp.sequence])
                }
                continue
            }
            do {
                let parsed = try ChainedLine(parsing: line)
                let r = parsed.record
                records += 1
                var v = verifiers[r.sidecarId] ?? ChainVerifier(
                    sidecarId: r.sidecarId, head: AuditChain(lastSequence: r.sequence - 1, lastHash: r.prevHash ?? AuditChain.genesis))
                findings += v.admit(parsed)
                verifiers[r.sidecarId] = v
                hashes[r.sidecarId, default: [:]][r.sequence] = parsed.claimedHash
            } catch {
                findings.append(IntegrityFinding(kind: .malformed, sidecarId: "?", sequence: nil, detail: "\(path):\(n + 1): \(error)"))
            }
        }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try e.encode(findings), as: UTF8.self))
        } else {
            let sidecars = verifiers.keys.sorted().map { "\($0) through \(verifiers[$0]!.head.lastSequence)" }.joined(separator: ", ")
            let signatures = switch (checkpoints, key) {
            case (0, _): records > 0 ? " (no checkpoint lines: the hashes are checked, no signature is; `rein audit export` includes them)" : ""
            case (_, nil): " (signatures not checked: give --public-key, the sidecar's registered key, `public_key` in `rein fleet --json`)"
            default: " (signatures checked against the given key)"
            }
            print("\(path): \(records) records, \(checkpoints) checkpoints\(signatures); chains: \(sidecars.isEmpty ? "none" : sidecars); \(findings.count) findings")
            for f in findings { print("  \(f)") }
        }
        if !findings.isEmpty { throw ExitCode(1) }
    }

    /// "an OCSF" or "a CloudTrail" when `firstLine` is one of those exports.
    static func exportKind(_ firstLine: [UInt8]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(firstLine))) as? [String: Any] else { return nil }
        if object["class_uid"] != nil { return "an OCSF" }
        if object["Records"] != nil { return "a CloudTrail" }
        return nil
    }
}
