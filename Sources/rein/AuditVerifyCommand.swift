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
    @Option(help: ArgumentHelp("With --file: the sidecar's registered Ed25519 public key (hex), to check checkpoint signatures; SIDECAR=HEX, repeated, for a file with several sidecars.", valueName: "key")) var publicKey: [String] = []
    @Flag(help: "With --file and a key: fail when a sidecar's records carry no checkpoint signed by it (an export whose checkpoint lines were stripped; a new sidecar's first records have none yet).")
    var requireSignatures = false
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
                for f in findings {
                    print("  " + SafeText.escape("\(f["kind"] ?? "?") at \(f["sequence"] ?? "-"): \(f["detail"] ?? "")"))
                }
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
        let keys = try Self.keys(publicKey)
        let lines = data.split(separator: UInt8(ascii: "\n"))
        if let kind = Self.exportKind(lines.first.map(Array.init) ?? []) {
            throw CommandFailure.failed("\(path) is \(kind) export: offline verification reads the JSONL export, whose lines carry the hashes (rein audit export --format jsonl)")
        }
        if requireSignatures, keys.isEmpty { throw ValidationError("--require-signatures needs --public-key") }
        var check = OfflineChainCheck(source: path, keys: keys, requireSignatures: requireSignatures)
        for (n, raw) in lines.enumerated() { check.read(Array(raw), number: n + 1) }
        check.finish()
        // An empty file shows nothing; passing it would let `verify && ship` pass an export that lost everything.
        guard check.records > 0 || !check.findings.isEmpty else {
            throw CommandFailure.failed("\(path) holds no audit records: nothing was verified")
        }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try e.encode(check.findings), as: UTF8.self))
        } else {
            print(Self.summary(check, path: path))
            // The file is untrusted input: what it says is escaped before it reaches the terminal.
            for f in check.findings { print("  \(SafeText.escape(f.description))") }
        }
        if !check.findings.isEmpty { throw ExitCode(1) }
    }

    /// `--public-key HEX` (every sidecar in the file) or, repeated,
    /// `--public-key SIDECAR=HEX` (a whole-trail export: one per sidecar).
    static func keys(_ values: [String]) throws -> OfflineChainCheck.Keys {
        var keys = OfflineChainCheck.Keys()
        for value in values {
            let (id, hex) = value.firstIndex(of: "=").map { (String(value[..<$0]), String(value[value.index(after: $0)...])) } ?? (nil, value)
            let key = Ed25519PublicKeyHex(hex: hex)
            guard key.key != nil else {
                throw ValidationError("--public-key must be an Ed25519 public key as 64 hex digits, or SIDECAR=HEX (got '\(SafeText.escape(value))')")
            }
            if let id {
                guard keys.bySidecar.updateValue(key, forKey: id) == nil else { throw ValidationError("--public-key names sidecar \(id) twice") }
            } else {
                guard keys.all == nil else { throw ValidationError("give one --public-key HEX, or one SIDECAR=HEX per sidecar") }
                keys.all = key
            }
        }
        return keys
    }

    /// One line for the file, one per sidecar chain in it.
    static func summary(_ check: OfflineChainCheck, path: String) -> String {
        var lines = ["\(path): \(check.records) records, \(check.checkpoints) checkpoints, \(check.findings.count) findings"]
        if check.checkpoints == 0, check.records > 0 {
            lines.append("  no checkpoint lines: the hashes are checked, no signature is (`rein audit export` includes them)")
        }
        for (id, chain) in check.chains.sorted(by: { $0.key < $1.key }) {
            let range = "records \(chain.first)…\(chain.head.lastSequence)"
            let signed: String
            if !chain.keyGiven {
                signed = "signatures not checked: give --public-key \(check.keys.isEmpty ? "HEX" : "\(id)=HEX") (`public_key` in `rein fleet --json`)"
            } else if let through = chain.signedThrough {
                signed = through >= chain.head.lastSequence ? "signed through \(through)"
                    : "signed through \(through); \(through + 1)…\(chain.head.lastSequence) come after its last checkpoint"
            } else {
                signed = "no signed checkpoint: covered by the chain only (--require-signatures makes this a failure)"
            }
            lines.append("  sidecar \(SafeText.escape(id)): \(range), \(signed)")
        }
        return lines.joined(separator: "\n")
    }

    /// "an OCSF" or "a CloudTrail" when `firstLine` is one of those exports.
    static func exportKind(_ firstLine: [UInt8]) -> String? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(firstLine))) as? [String: Any] else { return nil }
        if object["class_uid"] != nil { return "an OCSF" }
        if object["Records"] != nil { return "a CloudTrail" }
        return nil
    }
}
