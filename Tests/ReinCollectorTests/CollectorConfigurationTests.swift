import Testing
@testable import ReinCollector
import ReinServiceKit

@Suite struct CollectorConfigurationTests {
    static let hash = String(repeating: "ab", count: 32)

    @Test func readsEveryKeyAndAppliesOverridesInOrder() throws {
        let yaml = """
            listen: 0.0.0.0:7800
            state_dir: /var/lib/rein-collector
            retention: 30d
            fleet:
              silent_after: 90s
              max_clock_skew: 2m
            tokens:
              - name: sidecar-billing
                roles: [sidecar]
                sha256: \(Self.hash)
                agents: [billing-agent]
                sidecar_ids: ["billing-*", batch-7]
              - name: bob
                roles: [approver, auditor]
                sha256: \(String(repeating: "cd", count: 32))
                owns_agents: [billing-agent]
            """
        let config = try CollectorConfigurationLoader.load(yaml: yaml, environment: ["REIN_COLLECTOR_LISTEN": "127.0.0.1:7900",
                                                                                     "REIN_COLLECTOR_RETENTION": "60d",
                                                                                     "REIN_COLLECTOR_MAX_CLOCK_SKEW": "10s"],
                                                           overrides: ["listen": "[::1]:7901"])
        #expect(config.listen == ListenAddress(host: "::1", port: 7901))
        #expect(config.retention == 60 * 86_400)
        #expect(config.silentAfter == 90)
        #expect(config.maxClockSkew == 10) // the environment over the file's 2m
        #expect(CollectorConfiguration().maxClockSkew == 30)
        #expect(config.resolvedDatabase == "/var/lib/rein-collector/collector.sqlite")
        #expect(config.tokens.count == 2)
        #expect(config.tokens[0].agents == ["billing-agent"])
        #expect(config.tokens[0].sidecarIds.map(\.text) == ["billing-*", "batch-7"])
        #expect(config.tokens[1].sidecarIds.isEmpty)
        #expect(config.tokens[1].roles == [.approver, .auditor])
        #expect(config.tokens[1].ownsAgents == ["billing-agent"])
        #expect(!config.tlsEnabled)
    }

    @Test(arguments: [
        ("listen: 127.0.0.1:7700\nlisten_port: 1\ntokens: []\n", "listen_port", 2),
        ("tokens:\n  - name: a\n    roles: [root]\n    sha256: \(hash)\n", "tokens[0].roles", 3),
        ("tokens:\n  - name: a\n    roles: [admin]\n    sha256: my-secret-token\n", "tokens[0].sha256", 4),
        ("tokens:\n  - name: a\n    roles: [sidecar]\n    sha256: \(hash)\n", "tokens[0].agents", 2),
        ("fleet:\n  silent_after: soon\ntokens: []\n", "fleet.silent_after", 2),
        ("fleet:\n  silent_after: 2m\n  max_clock_skew: a bit\ntokens: []\n", "fleet.max_clock_skew", 3),
        ("database: postgres://rein:hunter2@db:5432/rein\ntokens: []\n", "database", 1),
        ("tokens:\n  - name: a\n    roles: [auditor]\n    sha256: \(hash)\n    sidecar_ids: [web-*]\n", "tokens[0].sidecar_ids", 5),
        ("tokens:\n  - {name: a, roles: [sidecar], agents: [x], sha256: \(hash), sidecar_ids: [\"web *\"]}\n", "tokens[0].sidecar_ids", 2),
        ("tokens:\n  - name: a\n    role: [admin]\n    sha256: \(hash)\n", "tokens[0].role", 3),
        ("alerts:\n  webhook_url: hooks.example.com/x\ntokens: []\n", "alerts.webhook_url", 2),
        ("alerts:\n  webhook: https://hooks.example.com/x\ntokens: []\n", "alerts.webhook", 2),
    ])
    func errorsNameTheKeyAndLine(yaml: String, key: String, line: Int) {
        do {
            _ = try CollectorConfigurationLoader.load(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key)
            #expect(error.line == line)
            #expect(!"\(error)".contains("hunter2"), "a password in a value must not reach the message")
        }
    }

    @Test func alertsWebhookComesFromTheFileTheEnvironmentOrAFlag() throws {
        let tokens = "tokens:\n  - {name: a, roles: [admin], sha256: \(Self.hash)}\n"
        let none = try CollectorConfigurationLoader.load(yaml: tokens)
        #expect(none.alertsWebhookURL == nil && none.alertsConsoleURL == nil)
        let file = try CollectorConfigurationLoader.load(yaml: tokens + "alerts:\n  webhook_url: https://hooks.example.com/a\n  console_url: https://rein.example.com\n")
        #expect(file.alertsWebhookURL == "https://hooks.example.com/a")
        #expect(file.alertsConsoleURL == "https://rein.example.com")
        #expect(file.holdsWebhookURL == nil)
        let env = try CollectorConfigurationLoader.load(yaml: tokens + "alerts:\n  webhook_url: https://hooks.example.com/a\n",
                                                        environment: ["REIN_COLLECTOR_ALERTS_WEBHOOK_URL": "http://127.0.0.1:9/b"])
        #expect(env.alertsWebhookURL == "http://127.0.0.1:9/b")
        let flag = try CollectorConfigurationLoader.load(yaml: tokens, environment: ["REIN_COLLECTOR_ALERTS_WEBHOOK_URL": "http://127.0.0.1:9/b"],
                                                         overrides: ["alerts.webhook_url": "https://hooks.example.com/c"])
        #expect(flag.alertsWebhookURL == "https://hooks.example.com/c")
    }

    @Test func refusesConfigurationsThatCannotWork() {
        #expect(throws: CollectorConfigurationError.self) { try CollectorConfigurationLoader.load(yaml: "listen: 127.0.0.1:7700\n") }
        let twice = "tokens:\n  - {name: a, roles: [admin], sha256: \(Self.hash)}\n  - {name: a, roles: [auditor], sha256: \(String(repeating: "cd", count: 32))}\n"
        #expect(throws: CollectorConfigurationError.self) { try CollectorConfigurationLoader.load(yaml: twice) }
        let halfTLS = "tls:\n  certificate: /x.pem\ntokens:\n  - {name: a, roles: [admin], sha256: \(Self.hash)}\n"
        #expect(throws: CollectorConfigurationError.self) { try CollectorConfigurationLoader.load(yaml: halfTLS) }
    }

    /// `backup:` sets the collector's own backups; the environment can name
    /// the directory; a directory inside the state (or holding it), a short
    /// interval or no backups to keep are refused with the key.
    @Test func backupSettingsAreReadAndCheckedAgainstTheStateDirectory() throws {
        let tokens = "tokens:\n  - {name: a, roles: [admin], sha256: \(Self.hash)}\n"
        let c = try CollectorConfigurationLoader.load(yaml: "state_dir: /var/lib/rein/collector\nbackup: {dir: /var/lib/rein/backups, interval: 6h, keep: 3}\n" + tokens)
        #expect(c.backupDir == "/var/lib/rein/backups" && c.backupInterval == 21_600 && c.backupKeep == 3)
        let none = try CollectorConfigurationLoader.load(yaml: tokens)
        #expect(none.backupDir == nil && none.backupInterval == 86_400 && none.backupKeep == 7)
        let env = try CollectorConfigurationLoader.load(yaml: tokens, environment: ["REIN_COLLECTOR_BACKUP_DIR": "/backups"])
        #expect(env.backupDir == "/backups")
        for (yaml, key) in [("state_dir: /s\nbackup: {dir: /s/backups}\n", "backup.dir"), ("state_dir: /s/c\nbackup: {dir: /s}\n", "backup.dir"),
                            ("state_dir: /s\nbackup: {dir: /s/./}\n", "backup.dir"), ("backup: {dir: /b, interval: 30s}\n", "backup.interval"),
                            ("backup: {dir: /b, keep: 0}\n", "backup.keep"), ("backup: {dir: /b, every: 1d}\n", "backup.every")] {
            let refusal = #expect(throws: CollectorConfigurationError.self) { try CollectorConfigurationLoader.load(yaml: yaml + tokens) }
            #expect(refusal?.key == key, "\(yaml): \(String(describing: refusal))")
        }
    }
}
