import Foundation

/// Verifies an exported JSONL file (record and checkpoint lines) without the
/// collector, for `rein audit verify --file`.
///
/// Why checkpoints are checked only once every line is read: a checkpoint
/// line moved above the records it names would otherwise find no record to
/// compare with, and a rewritten history would pass. Why a checkpoint naming
/// a record the file lacks is a finding: an export carries each checkpoint
/// after the record it names, so the record was removed.
///
/// Records after a sidecar's last signed checkpoint are covered by the
/// chain alone (a sidecar signs every N records or T seconds, so a recent
/// export ends with some, and a new sidecar's has none): ``Chain`` says how
/// far each is signed. With `requireSignatures`, a sidecar with a key and
/// no checkpoint it signed is an `unsigned` finding, for an investigator
/// who knows the file must carry signatures (stripped checkpoint lines).
public struct OfflineChainCheck {
    /// The public keys given, one for every sidecar or one per sidecar id.
    public struct Keys: Sendable {
        public var all: Ed25519PublicKeyHex?
        public var bySidecar: [String: Ed25519PublicKeyHex]

        public init(all: Ed25519PublicKeyHex? = nil, bySidecar: [String: Ed25519PublicKeyHex] = [:]) {
            self.all = all
            self.bySidecar = bySidecar
        }

        public var isEmpty: Bool { all == nil && bySidecar.isEmpty }

        public func key(for sidecarId: String) -> Ed25519PublicKeyHex? { bySidecar[sidecarId] ?? all }
    }

    /// One sidecar's records in the file.
    public struct Chain: Sendable, Equatable {
        public var first: Int64
        public var head: AuditChain
        public var records = 0
        /// The highest sequence a verified checkpoint names (nil: none).
        public var signedThrough: Int64?
        /// Whether a key was given for it (its checkpoints were checked).
        public var keyGiven = false
    }

    public let source: String
    public let keys: Keys
    public let requireSignatures: Bool
    public private(set) var records = 0
    public private(set) var checkpoints = 0
    public private(set) var findings: [IntegrityFinding] = []
    public private(set) var chains: [String: Chain] = [:]
    private var verifiers: [String: ChainVerifier] = [:]
    private var hashes: [String: [Int64: String]] = [:]
    private var pending: [AuditCheckpoint] = []

    /// `source` names the file in findings about its lines.
    public init(source: String, keys: Keys, requireSignatures: Bool = false) {
        self.source = source
        self.keys = keys
        self.requireSignatures = requireSignatures
    }

    /// Reads one line (`number` counts from 1).
    public mutating func read(_ line: [UInt8], number: Int) {
        if AuditCheckpoint.isCheckpointLine(line) {
            guard let cp = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(line)) else {
                malformed(number, "unreadable checkpoint")
                return
            }
            checkpoints += 1
            pending.append(cp)
            return
        }
        let parsed: ChainedLine
        do { parsed = try ChainedLine(parsing: line) } catch {
            malformed(number, "\(error)")
            return
        }
        let r = parsed.record
        records += 1
        var v = verifiers[r.sidecarId] ?? ChainVerifier(
            sidecarId: r.sidecarId, head: AuditChain(lastSequence: r.sequence - 1, lastHash: r.prevHash ?? AuditChain.genesis))
        findings += v.admit(parsed)
        verifiers[r.sidecarId] = v
        hashes[r.sidecarId, default: [:]][r.sequence] = parsed.claimedHash
        var chain = chains[r.sidecarId] ?? Chain(first: r.sequence, head: v.head, keyGiven: keys.key(for: r.sidecarId) != nil)
        chain.head = v.head
        chain.records += 1
        chains[r.sidecarId] = chain
    }

    /// Checks the checkpoints against the records read and the keys given.
    public mutating func finish() {
        for cp in pending {
            guard let key = keys.key(for: cp.sidecarId) else { continue }
            let v = verifiers[cp.sidecarId] ?? ChainVerifier(sidecarId: cp.sidecarId)
            let stored = hashes[cp.sidecarId]?[cp.sequence]
            let problems = v.check(cp, registeredKey: key, storedHash: stored)
            findings += problems
            guard problems.isEmpty else { continue }
            guard stored != nil else {
                findings.append(IntegrityFinding(
                    kind: .checkpointMismatch, sidecarId: cp.sidecarId, sequence: cp.sequence,
                    detail: "the signed checkpoint names record \(cp.sequence), which is not in the file: an export carries each checkpoint after its record, so the record was removed"))
                continue
            }
            let through = max(chains[cp.sidecarId]?.signedThrough ?? 0, cp.sequence)
            chains[cp.sidecarId]?.signedThrough = through
        }
        pending = []
        for (id, chain) in chains.sorted(by: { $0.key < $1.key }) where requireSignatures && chain.keyGiven && chain.signedThrough == nil {
            findings.append(IntegrityFinding(
                kind: .unsigned, sidecarId: id, sequence: chain.first,
                detail: "no checkpoint signed by the given key names any of sidecar \(id)'s records \(chain.first)…\(chain.head.lastSequence): "
                    + "nothing shows they are the ones it wrote (were the checkpoint lines removed? `rein audit export` includes them)"))
        }
    }

    private mutating func malformed(_ number: Int, _ reason: String) {
        findings.append(IntegrityFinding(kind: .malformed, sidecarId: "?", sequence: nil, detail: "\(source):\(number): \(reason)"))
    }
}
