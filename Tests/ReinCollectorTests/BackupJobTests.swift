import Foundation
import Logging
import Testing
@testable import ReinCollector
@testable import ReinStore

/// The collector's own backups (``BackupJob``): due one interval after the
/// newest complete backup on disk (at once with none), the oldest of its
/// own deleted beyond `keep` only once a new one is whole, and nothing else
/// in the directory touched.
@Suite struct BackupJobTests {
    final class Scratch: Sendable {
        let root = NSTemporaryDirectory() + "rein-backup-job-\(UUID().uuidString)"
        let configuration: CollectorConfiguration

        init(keep: Int = 2) throws {
            try FileManager.default.createDirectory(atPath: root + "/backups", withIntermediateDirectories: true)
            var c = CollectorConfiguration()
            c.stateDir = root + "/state"
            c.backupDir = root + "/backups"
            c.backupInterval = 3600
            c.backupKeep = keep
            configuration = c
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: root + "/backups")) ?? []).sorted() }
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

    @Test func theNextBackupIsDueAnIntervalAfterTheNewestCompleteOne() throws {
        let s = try Scratch()
        let dir = s.configuration.backupDir!
        #expect(BackupJob.due(in: dir, interval: 3600, now: Self.t0) == Self.t0)
        let store = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        defer { store.close() }
        _ = try BackupJob.runOnce(s.configuration, reinVersion: "test", now: Self.t0, logger: Logger(label: "test"))
        #expect(BackupJob.due(in: dir, interval: 3600, now: Self.t0.addingTimeInterval(60)) == Self.t0.addingTimeInterval(3600))
        // A newer name with no manifest (an attempt cut short, an operator's copy) does not count.
        try FileManager.default.createDirectory(atPath: dir + "/rein-backup-20270115T090000Z", withIntermediateDirectories: true)
        #expect(BackupJob.due(in: dir, interval: 3600, now: Self.t0) == Self.t0.addingTimeInterval(3600))
    }

    @Test func onlyTheNewestAreKeptAndNothingElseIsTouched() throws {
        let s = try Scratch(keep: 2)
        let dir = s.configuration.backupDir!
        try Data("notes".utf8).write(to: URL(fileURLWithPath: dir + "/README.txt"))
        try FileManager.default.createDirectory(atPath: dir + "/rein-backup-manual", withIntermediateDirectories: true)
        let store = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        defer { store.close() }
        for hour in 0..<3 {
            let manifest = try BackupJob.runOnce(s.configuration, reinVersion: "test", now: Self.t0.addingTimeInterval(Double(hour) * 3600),
                                                 logger: Logger(label: "test"))
            #expect(manifest.file(.store) != nil)
        }
        #expect(s.entries == ["README.txt", "rein-backup-20270115T090000Z", "rein-backup-20270115T100000Z", "rein-backup-manual"])
        _ = try CollectorBackup.verify(dir + "/rein-backup-20270115T100000Z", progress: { _ in })
    }

    /// The alert a failed backup posts: for people (`text`) and machines (`rein`).
    @Test func aFailureAlertSaysWhereAndWhyAndThatOlderBackupsAreKept() throws {
        let body = BackupAlertMessage.payload(dir: "/backups", error: "could not copy /s/collector.sqlite: disk I/O error",
                                              consoleURL: "https://rein.example.com")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let text = try #require(json["text"] as? String)
        #expect(text.contains("backup into /backups failed; the previous backups are kept") && text.contains("disk I/O error"))
        let rein = try #require(json["rein"] as? [String: Any])
        #expect(rein["alert"] as? String == "backup" && rein["dir"] as? String == "/backups")
        #expect((rein["links"] as? [String: String])?["health"] == "https://rein.example.com/healthz")
    }

    @Test func aFailedBackupLeavesNothingAndDeletesNoOlderOne() throws {
        let s = try Scratch(keep: 1)
        let dir = s.configuration.backupDir!
        let store = try SQLiteCollectorStore(path: s.configuration.resolvedDatabase)
        _ = try BackupJob.runOnce(s.configuration, reinVersion: "test", now: Self.t0, logger: Logger(label: "test"))
        store.close()
        // The store is gone: the next attempt fails.
        try FileManager.default.removeItem(atPath: s.configuration.stateDir)
        #expect(throws: CollectorBackupError.self) {
            _ = try BackupJob.runOnce(s.configuration, reinVersion: "test", now: Self.t0.addingTimeInterval(3600), logger: Logger(label: "test"))
        }
        #expect(s.entries == ["rein-backup-20270115T080000Z"])
        _ = try CollectorBackup.verify(dir + "/rein-backup-20270115T080000Z", progress: { _ in })
    }
}
