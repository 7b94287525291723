import Foundation
import ReinServiceKit
import Testing
@testable import ReinSidecar

/// The `audit:` and `collector:` sections.
struct AuditConfigurationTests {
    @Test func defaultsPutTheSpoolInTheStateDirectory() throws {
        let c = try SidecarConfigurationLoader.load(yaml: "state_dir: /var/lib/rein", environment: [:], overrides: [:])
        #expect(c.resolvedAuditSpoolPath == "/var/lib/rein/audit-spool.db")
        #expect(c.auditMirrorPath == "/var/lib/rein/audit.jsonl")
        #expect(c.auditSigningKeyPath == "/var/lib/rein/audit-signing.key")
        #expect(c.auditFsync && !c.auditDropWhenFull)
        #expect(c.auditSpoolMaxBytes == 256 << 20)
        #expect(c.auditJSONLMaxBytes == 64 << 20)
        #expect(c.auditCheckpointEveryRecords == 1000 && c.auditCheckpointInterval == .seconds(60))
        #expect(c.collector == CollectorSettings())
        #expect(!c.collector.isEnabled && c.collector.policyFetch == .longPoll && c.collector.batchMaxRecords == 1000)
        #expect(c.collector.batchMaxInterval == .seconds(1) && c.collector.policyInterval == .seconds(30) && c.collector.heartbeatInterval == .seconds(15))
    }

    @Test func everyAuditAndCollectorKeyIsRead() throws {
        let yaml = """
            audit:
              spool_path: /data/spool.db
              fsync: false
              spool_max_bytes: 1Gi
              drop_when_full: true
              jsonl_max_bytes: 16Mi
              checkpoint_every_records: 250
              checkpoint_interval: 500ms
            collector:
              url: https://collector.internal:7480
              token_file: /run/secrets/rein-token
              ca_file: /etc/rein/ca.pem
              batch_max_records: 500
              batch_max_interval: 250ms
              policy_fetch: interval
              policy_interval: 2m
              heartbeat_interval: 10s
            """
        let c = try SidecarConfigurationLoader.load(yaml: yaml, environment: [:], overrides: [:])
        #expect(c.resolvedAuditSpoolPath == "/data/spool.db")
        #expect(!c.auditFsync && c.auditDropWhenFull)
        #expect(c.auditSpoolMaxBytes == 1 << 30)
        #expect(c.auditJSONLMaxBytes == 16 << 20)
        #expect(c.auditCheckpointEveryRecords == 250 && c.auditCheckpointInterval == .milliseconds(500))
        #expect(c.collector.url == "https://collector.internal:7480" && c.collector.isEnabled)
        #expect(c.collector.tokenFile == "/run/secrets/rein-token" && c.collector.caFile == "/etc/rein/ca.pem")
        #expect(c.collector.batchMaxRecords == 500 && c.collector.batchMaxInterval == .milliseconds(250))
        #expect(c.collector.policyFetch == .interval && c.collector.policyInterval == .seconds(120))
        #expect(c.collector.heartbeatInterval == .seconds(10))
    }

    @Test(arguments: [("4096", Int64(4096)), ("64Ki", 64 << 10), ("256Mi", 256 << 20), ("3Gi", 3 << 30), ("64MiB", 64 << 20), ("10MB", 10_000_000)])
    func spoolCapsAcceptBinarySuffixes(text: String, bytes: Int64) throws {
        let c = try SidecarConfigurationLoader.load(yaml: "audit:\n  spool_max_bytes: \(text)", environment: [:], overrides: [:])
        #expect(c.auditSpoolMaxBytes == bytes)
    }

    @Test func theReadableCopyCanBeTurnedOffButNotGivenANonsenseSize() throws {
        let off = try SidecarConfigurationLoader.load(yaml: "audit:\n  jsonl_max_bytes: 0", environment: [:], overrides: [:])
        #expect(off.auditJSONLMaxBytes == 0)
        #expect(throws: ConfigurationError.self) {
            try SidecarConfigurationLoader.load(yaml: "audit:\n  jsonl_max_bytes: lots", environment: [:], overrides: [:])
        }
    }

    /// A disk smaller than the audit files' caps is a warning at start and in check-config.
    @Test func aDiskSmallerThanTheAuditCapsIsWarnedOf() throws {
        let dir = NSTemporaryDirectory() + "rein-room-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let huge = try SidecarConfigurationLoader.load(yaml: "state_dir: \(dir)\naudit:\n  spool_max_bytes: 1000000Ti",
                                                       environment: [:], overrides: [:])
        let warning = try #require(SidecarConfigCheck.diskRoomWarning(huge))
        #expect(warning.contains("a full disk stops every call before the spool's cap does"))
        #expect(warning.contains(dir))
        let small = try SidecarConfigurationLoader.load(yaml: "state_dir: \(dir)\naudit:\n  spool_max_bytes: 64Ki\n  jsonl_max_bytes: 64Ki",
                                                        environment: [:], overrides: [:])
        #expect(SidecarConfigCheck.diskRoomWarning(small) == nil)
    }

    @Test func theEnvironmentNamesTheCollectorOverTheFile() throws {
        let yaml = "collector:\n  url: http://file:7480\n  token_file: /file/token"
        let c = try SidecarConfigurationLoader.load(
            yaml: yaml, environment: ["REIN_COLLECTOR_URL": "https://env:7480", "REIN_COLLECTOR_TOKEN_FILE": "/env/token"], overrides: [:])
        #expect(c.collector.url == "https://env:7480" && c.collector.tokenFile == "/env/token")
    }

    @Test(arguments: [
        ("audit:\n  path: /x/audit.jsonl", "audit.path"),
        ("audit:\n  spool_max_bytes: lots", "audit.spool_max_bytes"),
        ("audit:\n  spool_max_bytes: 0Mi", "audit.spool_max_bytes"),
        ("audit:\n  checkpoint_interval: soon", "audit.checkpoint_interval"),
        ("audit:\n  checkpoint_interval: 10", "audit.checkpoint_interval"),
        ("audit:\n  checkpoint_every_records: 0", "audit.checkpoint_every_records"),
        ("audit:\n  drop_when_full: maybe", "audit.drop_when_full"),
        ("audit:\n  spool: x", "audit.spool"),
        ("collector:\n  url: ftp://collector\n  token_file: /t", "collector.url"),
        ("collector:\n  url: https://collector:7480", "collector.token_file"),
        ("collector:\n  policy_fetch: push", "collector.policy_fetch"),
        ("collector:\n  batch_max_records: -1", "collector.batch_max_records"),
        ("collector:\n  heartbeat_interval: 0s", "collector.heartbeat_interval"),
        ("collector: https://collector", "collector"),
    ])
    func badInputNamesTheKey(yaml: String, key: String) {
        do {
            _ = try SidecarConfigurationLoader.load(yaml: yaml, environment: [:], overrides: [:])
            Issue.record("expected an error for \(key)")
        } catch {
            #expect(error.key == key, "\(error)")
        }
    }

    @Test func errorsInTheFileNameTheLine() {
        do {
            _ = try SidecarConfigurationLoader.load(yaml: "mode: enforce\naudit:\n  fsync: true\n  checkpoint_interval: soon\n", environment: [:], overrides: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.key == "audit.checkpoint_interval" && error.line == 4, "\(error)")
            #expect(error.description.contains("500ms"))
        }
    }
}
