import ReinHolds
import Foundation
import ReinServiceKit

/// Everything `rein collector` needs, with defaults.
///
/// The YAML file's keys (every one optional except `tokens`):
///
/// ```yaml
/// listen: 127.0.0.1:7700          # host:port; [::1]:7700 for IPv6; port 0 picks a free one
/// state_dir: /var/lib/rein-collector   # default ./.rein-collector; created 0700
/// database: /var/lib/rein-collector/collector.sqlite   # default <state_dir>/collector.sqlite (a path: SQLite)
/// compliance_dir: /usr/share/rein/Compliance   # framework catalogs (default: $REIN_COMPLIANCE_DIR, ./Compliance, then beside the binary)
/// tls:                            # optional: TLS termination on system OpenSSL (read again each minute and on SIGHUP)
///   certificate: /etc/rein/collector.pem   # PEM chain, leaf first
///   key: /etc/rein/collector-key.pem       # PEM private key, mode 0600
/// retention: 400d                 # records received longer ago are deleted daily (findings stay)
/// fleet:
///   silent_after: 2m              # a sidecar with no heartbeat or batch for this long is "silent"
///   max_clock_skew: 30s           # a sidecar whose clock is off the collector's by more is "clock-skew"
/// alerts:                         # optional: integrity findings are always logged at error level
///   webhook_url: https://hooks.example.com/…   # also POSTed here (Slack-compatible JSON), retried,
///                                              # with sidecars going silent and reporting again
///   console_url: https://rein.example.com      # where the messages link to (this collector's URL)
/// limits:
///   max_connections: 1024         # more are closed on accept
///   header_timeout: 60s           # a request head must be complete this long after connecting or the last answer
///   body_timeout: 5m              # a request body must be complete this long after its head
/// tokens:                         # API tokens, by SHA-256 (`rein collector hash-token`); SIGHUP reloads them
///   - name: sidecar-billing       # the actor in audit events
///     roles: [sidecar]            # sidecar, admin, approver, auditor
///     sha256: 9f86d0…             # 64 hex digits
///     agents: [billing-agent]     # sidecar tokens: the agents it may serve
///     sidecar_ids: ["billing-*"]  # optional: the sidecar ids it may act as (`*` any run of characters)
///   - name: bob
///     roles: [approver]
///     sha256: …
///     owns_agents: [billing-agent]  # approvers: separation of duties
/// backup:                         # optional: the collector backs itself up (BackupJob)
///   dir: /var/backups/rein        # rein-backup-<time> directories; not inside state_dir
///   interval: 1d                  # at least 1m
///   keep: 7                       # the newest kept; older ones go once a new one is whole
///   copy_to:                      # optional: each new backup is then copied to S3
///     url: s3://evidence-bucket/rein/collector-prod
///     region: eu-west-1           # the bucket's; default AWS_REGION, then AWS_DEFAULT_REGION
///     endpoint_url: https://…     # optional: a VPC or S3-compatible endpoint (path-style)
///     ca_file: /etc/rein/s3-ca.pem  # optional: the CA bundle that endpoint's certificate chains to
///     kms_key_id: arn:aws:kms:…   # optional: SSE-KMS with this key (else the bucket's default)
///     part_size: 16MiB            # larger files go up in parts of this size (at least 5MiB)
///     credentials:                # as the sidecar's broker: section; default from the
///       provider: web_identity    # environment (static keys, web identity, profile, container, IMDS)
/// holds:                          # held calls registered by sidecars, decided here
///   expire: 15m                   # an undecided hold expires (denied)
///   max_grant: 1h                 # the longest --for of a scoped approval
///   default_grant: 15m            # a scoped approval given without --for
///   allow_owner_approval: false   # may an approver decide holds of agents in its owns_agents
///   webhook_url: https://hooks.slack.com/services/…   # new holds are posted here
///   console_url: https://rein-collector.internal:7700  # where those messages link to
/// ```
///
/// Durations are `30s`, `2m`, `1h` or `400d`. Environment variables
/// (`REIN_COLLECTOR_LISTEN`, `REIN_COLLECTOR_STATE_DIR`, `REIN_COLLECTOR_DATABASE`,
/// `REIN_COLLECTOR_TLS_CERTIFICATE`, `REIN_COLLECTOR_TLS_KEY`,
/// `REIN_COLLECTOR_RETENTION`, `REIN_COLLECTOR_SILENT_AFTER`, `REIN_COLLECTOR_MAX_CLOCK_SKEW`,
/// `REIN_COLLECTOR_ALERTS_WEBHOOK_URL`, `REIN_COLLECTOR_BACKUP_DIR`,
/// `REIN_COLLECTOR_BACKUP_COPY_TO`) override the
/// file, and command-line flags override both (``CollectorConfigurationLoader``).
/// Tokens come from the file only.
public struct CollectorConfiguration: Sendable, Equatable {
    public var listen = ListenAddress(host: "127.0.0.1", port: 7700)
    public var stateDir = "./.rein-collector"
    /// Nil: `<stateDir>/collector.sqlite`.
    public var database: String?
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Seconds.
    public var retention: Int64 = 400 * 86_400
    /// Seconds.
    public var silentAfter: Int64 = 120
    /// Seconds (`fleet.max_clock_skew`): record times come from each sidecar's
    /// clock, so one off by more is flagged in the fleet view.
    public var maxClockSkew: Int64 = 30
    public var tokens: [CollectorToken] = []
    /// Holds: expiry, the longest scoped approval, separation of duties (`holds:`).
    public var holds = HoldSettings()
    /// Called (Slack-compatible JSON) when a hold is created; retried, never blocking.
    public var holdsWebhookURL: String?
    /// Where webhook messages link to (this collector's public URL).
    public var holdsConsoleURL: String?
    /// Also told of every integrity finding (Slack-compatible JSON; retried, never blocking ingest).
    public var alertsWebhookURL: String?
    /// Where alerts link to (this collector's public URL).
    public var alertsConsoleURL: String?
    /// Where the framework catalogs (`*.yaml`) are; nil searches
    /// `$REIN_COMPLIANCE_DIR`, `./Compliance`, then `Compliance` beside the
    /// build or install tree of the `rein` binary.
    public var complianceDir: String?

    /// Batches are capped at 64 MiB decompressed (docs/collector-api.md).
    public var maxBatchBytes = 64 << 20
    /// Other request bodies (policy pushes, registrations).
    public var maxRequestBytes = 4 << 20
    /// `limits.max_connections`: connections beyond it are closed on accept.
    public var maxConnections = 1024
    /// `limits.header_timeout` (seconds): a request head must be complete this
    /// long after the connection opens or the previous answer (slowloris).
    public var headerTimeout: Int64 = 60
    /// `limits.body_timeout` (seconds): a request body must be complete this long after its head.
    public var bodyTimeout: Int64 = 300
    /// Request body bytes read at once over every connection (four full
    /// batches); beyond, a body is answered 503 with Retry-After.
    public var maxBufferedBodyBytes = 256 << 20
    /// How often retention runs.
    public var retentionInterval: Duration = .seconds(86_400)
    /// `backup.dir`: where the collector takes backups of itself (``BackupJob``);
    /// nil: none (`rein collector backup` works either way).
    public var backupDir: String?
    /// `backup.interval` (seconds): the time between two of them.
    public var backupInterval: Int64 = 86_400
    /// `backup.keep`: how many of its own backups stay; older ones go once a new one is whole.
    public var backupKeep = 7
    /// `backup.copy_to`: the S3 bucket and prefix each backup is copied to once whole (``BackupCopy``); nil: none.
    public var backupCopy: BackupCopyDestination?
    /// How often the TLS certificate and key files are checked for a renewal
    /// (``CollectorTLS``); SIGHUP reads them at once.
    public var tlsReloadInterval: Duration = .seconds(60)

    public init() {}

    /// The database path actually used.
    public var resolvedDatabase: String {
        if let database { return database }
        return inStateDir("collector.sqlite")
    }

    /// The hold ledger, beside the database in the state directory.
    public var holdsDatabase: String { inStateDir("holds.sqlite") }

    /// The key that signs the collector's own audit chain.
    public var signingKeyPath: String { inStateDir("collector-signing.key") }

    private func inStateDir(_ name: String) -> String {
        (stateDir.hasSuffix("/") ? stateDir : stateDir + "/") + name
    }

    public var tlsEnabled: Bool { tlsCertificate != nil && tlsKey != nil }
}
