import Foundation
import ReinAudit
import ReinHolds
import Synchronization
import Testing
@testable import ReinCollector
@testable import ReinStore

/// `rein collector backup` and `restore` (``CollectorBackup``, ``CollectorRestore``):
/// a copy taken while ingest goes on is one moment's store that verifies;
/// a damaged or replaced backup file restores nothing; a restore under a
/// running collector is refused; what a restore replaces is moved aside.
@Suite struct CollectorBackupTests {
    /// A collector's state directory and a place for backups, removed afterwards.
    final class Scratch: Sendable {
        let root = NSTemporaryDirectory() + "rein-backup-\(UUID().uuidString)"
        var configuration: CollectorConfiguration { config(in: "state") }
        var backup: String { root + "/backup" }

        init() throws { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// A store with `before` records of sc-1 backed up, and `after` more
        /// ingested since; the store stays open.
        func storeBackedUp(before: Int, after: Int) throws -> SQLiteCollectorStore {
            let store = try SQLiteCollectorStore(path: configuration.resolvedDatabase)
            var chain = try ScriptedChain(sidecarId: "sc-1")
            _ = try CollectorBackupTests.ingest(store, try chain.seal(before), sidecarId: "sc-1")
            _ = try CollectorBackup.make(configuration, into: backup, reinVersion: "test", progress: { _ in })
            _ = try CollectorBackupTests.ingest(store, try chain.seal(after), sidecarId: "sc-1")
            return store
        }

        func config(in name: String) -> CollectorConfiguration {
            var c = CollectorConfiguration()
            c.stateDir = root + "/" + name
            return c
        }
    }

    static func ingest(_ store: SQLiteCollectorStore, _ lines: [[UInt8]], sidecarId: String) throws -> IngestOutcome {
        try store.ingest(AuditBatch.parse(ndjson: lines.flatMap { $0 }, sidecarId: sidecarId), at: 1_800_000_000_000)
    }

    @Test func aBackupTakenWhileIngestingRestoresToOneMomentThatVerifies() throws {
        let s = try Scratch()
        let store = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        let ledger = try SQLiteHoldLedger(path: s.configuration.holdsDatabase, settings: HoldSettings())
        _ = try SigningKeyFile.loadOrCreate(path: s.configuration.signingKeyPath)
        var chain = try ScriptedChain(sidecarId: "sc-1")
        _ = try Self.ingest(store, try chain.seal(200), sidecarId: "sc-1")
        // Ingest goes on in batches of 50 while the backup is taken.
        let stop = Atomic<Bool>(false)
        let shipped = Atomic<Int>(200)
        let writer = Thread { [chain] in
            var c = chain
            while !stop.load(ordering: .relaxed) {
                guard let lines = try? c.seal(50), (try? Self.ingest(store, lines, sidecarId: "sc-1")) != nil else { return }
                shipped.add(50, ordering: .relaxed)
            }
        }
        writer.start()
        func waitFor(_ count: Int) {
            let deadline = Date().addingTimeInterval(30)
            while shipped.load(ordering: .relaxed) < count, !writer.isFinished, Date() < deadline { usleep(1000) }
        }
        waitFor(400)
        let events = Mutex<[String]>([])
        let manifest = try CollectorBackup.make(s.configuration, into: s.backup, reinVersion: "test") { event in
            if case .checked(let name) = event { events.withLock { $0.append(name) } }
        }
        // Ingest was not stopped by the copy, nor after it.
        waitFor(Int(manifest.contents.records) + 100)
        stop.store(true, ordering: .relaxed)
        while !writer.isFinished { usleep(1000) }
        #expect(shipped.load(ordering: .relaxed) >= Int(manifest.contents.records) + 100)
        store.close()
        ledger.close()

        #expect(manifest.files.map(\.name) == ["collector.sqlite", "holds.sqlite", "collector-signing.key"])
        #expect(events.withLock { $0 } == ["collector.sqlite", "holds.sqlite"])
        let mode = try FileManager.default.attributesOfItem(atPath: s.backup)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let keyMode = try FileManager.default.attributesOfItem(atPath: s.backup + "/collector-signing.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let taken = manifest.contents.records
        #expect(taken >= 400 && taken % 50 == 0 && taken < Int64(shipped.load(ordering: .relaxed)))

        let target = s.config(in: "restored")
        let outcome = try CollectorRestore.restore(target, from: s.backup, progress: { _ in })
        #expect(outcome.movedAside.isEmpty)
        let restored = try SQLiteCollectorStore(path: target.resolvedDatabase)
        defer { restored.close() }
        let report = try restored.verify(sidecarId: "sc-1", from: nil, to: nil)
        #expect(report.findings.isEmpty, "\(report.findings)")
        #expect(report.records == taken)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target.signingKeyPath)) == Data(contentsOf: URL(fileURLWithPath: s.configuration.signingKeyPath)))
        // What was acknowledged after the backup is gone from it: the sidecar's next batch is flagged as a gap, never silently joined.
        var later = try ScriptedChain(sidecarId: "sc-1")
        later.chain = chain.chain
        _ = try later.seal(Int(taken) - 200 + 50)
        let next = try Self.ingest(restored, try later.seal(1), sidecarId: "sc-1")
        #expect(next.findings.map(\.finding.kind) == [.gap])
    }

    @Test func aDamagedBackupRestoresNothing() throws {
        let s = try Scratch()
        // A later store in the target, which a refused restore must leave as it is.
        try s.storeBackedUp(before: 20, after: 5).close()
        let copy = s.backup + "/collector.sqlite"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        bytes[bytes.count - 100] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: copy))

        let refusal = #expect(throws: CollectorBackupError.self) {
            _ = try CollectorRestore.restore(s.configuration, from: s.backup, progress: { _ in })
        }
        #expect("\(String(describing: refusal))".contains("the backup's collector.sqlite is not the file it recorded (SHA-256"))
        let entries = try FileManager.default.contentsOfDirectory(atPath: s.configuration.stateDir)
        #expect(!entries.contains { $0.contains("before-restore") })
        let kept = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        defer { kept.close() }
        #expect(try kept.verify(sidecarId: "sc-1", from: nil, to: nil).records == 25)
    }

    @Test func aRestoreUnderARunningCollectorIsRefusedAndOneAfterItMovesTheOldStateAside() throws {
        let s = try Scratch()
        let store = try s.storeBackedUp(before: 10, after: 10)

        let refusal = #expect(throws: CollectorBackupError.self) {
            _ = try CollectorRestore.restore(s.configuration, from: s.backup, progress: { _ in })
        }
        #expect("\(String(describing: refusal))".contains("cannot restore while the collector runs"))
        #expect(try store.verify(sidecarId: "sc-1", from: nil, to: nil).records == 20)
        store.close()

        let outcome = try CollectorRestore.restore(s.configuration, from: s.backup, now: Date(timeIntervalSince1970: 1_800_000_000), progress: { _ in })
        let aside = s.configuration.resolvedDatabase + ".before-restore-20270115T080000Z"
        #expect(outcome.movedAside.map(\.to).contains(aside))
        let restored = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        #expect(try restored.verify(sidecarId: "sc-1", from: nil, to: nil).records == 10)
        restored.close()
        // The replaced store is kept whole beside it.
        let old = try SQLiteCollectorStore(path: aside)
        defer { old.close() }
        #expect(try old.verify(sidecarId: "sc-1", from: nil, to: nil).records == 20)
    }

    /// A backup that fails part way (here the signing key cannot be read,
    /// after the store was copied) leaves nothing that could pass for one.
    @Test func aFailedBackupLeavesNothingBehind() throws {
        let s = try Scratch()
        let store = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        var chain = try ScriptedChain(sidecarId: "sc-1")
        _ = try Self.ingest(store, try chain.seal(5), sidecarId: "sc-1")
        store.close()
        try FileManager.default.createDirectory(atPath: s.configuration.signingKeyPath, withIntermediateDirectories: true)
        #expect(throws: CollectorBackupError.self) {
            _ = try CollectorBackup.make(s.configuration, into: s.backup, reinVersion: "test", progress: { _ in })
        }
        #expect(!FileManager.default.fileExists(atPath: s.backup))
        try FileManager.default.createDirectory(atPath: s.backup, withIntermediateDirectories: true)
        #expect(throws: CollectorBackupError.self) {
            _ = try CollectorBackup.make(s.configuration, into: s.backup, reinVersion: "test", progress: { _ in })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.backup).isEmpty)
    }

    @Test func aBackupNeverWritesIntoADirectoryThatHoldsSomething() throws {
        let s = try Scratch()
        let store = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        defer { store.close() }
        try FileManager.default.createDirectory(atPath: s.backup, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: s.backup + "/notes.txt"))
        #expect(throws: CollectorBackupError.self) {
            _ = try CollectorBackup.make(s.configuration, into: s.backup, reinVersion: "test", progress: { _ in })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.backup) == ["notes.txt"])
    }
}
