import Foundation
import ReinPolicy
import Yams
import ReinServiceKit

/// Everything one `rein sidecar` needs, from one YAML file plus overrides.
///
/// Precedence, as in the AWS CLI and kubectl: a flag beats an environment
/// variable, which beats the file, which beats the default. Durations are
/// `30s`/`15m`/`1h` (intervals also `500ms`); sizes are `64KiB`/`8MiB`
/// (the spool cap also `256Mi`/`1Gi`). Every key:
///
/// ```yaml
/// sidecar_id: web-agent-1           # default: the host name; A-Z a-z 0-9 . _ : @ -, at most 128
/// listen: 127.0.0.1:7474            # agent listener: endpoint mode and HTTPS_PROXY (REIN_LISTEN)
/// admin_listen: 127.0.0.1:7475      # /healthz /readyz /metrics (REIN_ADMIN_LISTEN)
/// credentials_listen: 127.0.0.1:7476  # ECS container-credentials endpoint (REIN_CREDENTIALS_LISTEN)
/// allowed_clients: [127.0.0.0/8, "::1/128"]  # CIDRs allowed to connect to the agent listeners (quote IPv6: YAML)
/// state_dir: .rein                  # CA, agent token and credentials, audit spool and key (REIN_STATE_DIR)
/// policy_file: policy.yaml          # the task allowlist (REIN_POLICY_FILE)
/// policy_reload_interval: 10s       # without a collector: a changed policy_file applies within this (off: SIGHUP only)
/// mode: enforce                     # enforce | observe | learn (REIN_MODE)
/// account_id: "123456789012"        # the account ARNs are built in (REIN_ACCOUNT_ID)
/// cpu_latency_qos: false            # true: idle CPUs poll while calls arrive; machine-wide (REIN_CPU_LATENCY_QOS)
/// agent_credentials:
///   ttl: 1h                         # lifetime of issued agent session credentials
///   token_file: .rein/agent-token   # AWS_CONTAINER_AUTHORIZATION_TOKEN (generated when absent)
///   static:                         # tests only: flagged at start-up
///     - {access_key_id: AKIDTEST, secret_access_key: ..., session_token: ...}
/// upstream:
///   endpoint: http://127.0.0.1:5000 # send everything to one AWS-compatible server (REIN_UPSTREAM_ENDPOINT)
///   fips: false
///   dualstack: false
///   ca_bundle: /path/ca.pem         # trust for the upstream TLS (default: the system store)
///   connect_timeout: 5s
///   idle_timeout: 120s              # abort an upstream transfer idle this long
/// proxy:
///   intercept: [amazonaws.com, amazonaws.com.cn, api.aws]  # CONNECT targets terminated and inspected
///   passthrough: []                 # hosts tunnelled without inspection (audited)
/// broker: {provider: static}        # broker credentials (see BrokerConfiguration)
/// limits:
///   max_connections: 512
///   max_header_bytes: 64KiB
///   header_timeout: 10s             # time allowed to send a request head
///   idle_timeout: 120s              # keep-alive connections idle longer are closed
///   max_inspected_body: 8MiB        # bodies that must be read before deciding (non-S3 APIs)
///   clock_skew: 15m
/// audit:
///   spool_path: .rein/audit-spool.db  # the durable SQLite spool (default: state_dir/audit-spool.db)
///   fsync: true                     # synchronous FULL commits; false = NORMAL (benchmarks only)
///   spool_max_bytes: 256Mi          # cap on spooled bytes; when full, requests get 503 and /readyz fails
///   drop_when_full: false           # opt-in loss: drop (count, log) records instead of failing closed
///   checkpoint_every_records: 1000  # sign the chain head after this many records...
///   checkpoint_interval: 60s        # ...or this long, whichever comes first
///   jsonl_max_bytes: 64Mi           # state_dir/audit.jsonl, a readable copy of the chain (not fsynced),
///                                   # moves to audit.jsonl.1 past this size; 0 = no copy
///   # state_dir/audit-signing.key is the checkpoint key (created on first start, 0600)
/// collector:                        # off unless url is set (the shipper, policy fetch, heartbeats)
///   url: https://collector:7700     # http or https (REIN_COLLECTOR_URL)
///   token_file: /run/secrets/rein-token  # the sidecar's bearer token (REIN_COLLECTOR_TOKEN_FILE)
///   agent_id: billing-agent         # fetch this agent's central policy when there is no policy_file
///                                   # and no last-known-good copy yet (REIN_AGENT_ID)
///   ca_file: /etc/rein/collector-ca.pem  # trust for the collector's TLS (default: the system store)
///   batch_max_records: 1000
///   batch_max_interval: 1s
///   policy_fetch: long-poll         # long-poll | interval
///   policy_interval: 30s
///   heartbeat_interval: 15s
/// holds:                            # held calls (statements with effect: hold); see HoldsSettings
///   wait: 20s                       # a held call waits this long, then gets a retryable error
///   expire: 15m                     # an undecided hold expires (denied)
///   max_grant: 1h                   # the longest --for of a scoped approval
///   default_grant: 15m              # a scoped approval given without --for
///   allow_owner_approval: false     # may an approver decide holds of agents it owns
///   webhook_url: https://hooks.slack.com/services/...  # standalone: new holds are posted here
///   console_url: https://sidecar-admin.internal:7475   # where those messages link to
///   database: .rein/holds.sqlite    # standalone holds (default state_dir/holds.sqlite)
///   tokens:                         # standalone approvers on the admin listener (with a collector: its tokens)
///     - {name: alice, roles: [approver], sha256: <64 hex>, owns_agents: [other-agent]}
/// ```
public struct SidecarConfiguration: Sendable {
    public struct StaticAgentKey: Sendable, Equatable {
        public var accessKeyId: String
        public var secretAccessKey: String
        public var sessionToken: String?
    }

    public var sidecarId: String
    public var listen: ListenAddress
    public var adminListen: ListenAddress
    /// Holds: waiting, expiry, grants, standalone approvers (`holds:`).
    public var holds = HoldsSettings()
    public var credentialsListen: ListenAddress?
    public var allowedClients: [CIDRBlock]
    public var stateDir: String
    public var policyFile: String?
    /// Without a collector: how often `policy_file` is checked for a change
    /// (a Kubernetes ConfigMap update), which then applies as on SIGHUP; nil
    /// (`off`): on SIGHUP only.
    public var policyReloadInterval: Duration?
    public var mode: PolicyMode
    public var accountId: String
    public var agentCredentialTTL: Int64
    public var agentTokenFile: String?
    public var staticAgentKeys: [StaticAgentKey]
    public var upstreamEndpoint: String?
    public var fips: Bool
    public var dualstack: Bool
    public var upstreamCABundle: String?
    public var upstreamConnectTimeout: Int64
    public var upstreamIdleTimeout: Int64
    public var interceptDomains: [String]
    public var passthroughHosts: [String]
    /// The `broker:` section as YAML, decoded by ReinBroker's BrokerConfiguration.
    public var brokerYAML: String?
    public var maxConnections: Int
    public var maxHeaderBytes: Int
    public var headerTimeout: Int64
    public var idleTimeout: Int64
    public var maxInspectedBody: Int
    public var clockSkew: Int64
    public var auditFsync: Bool
    public var auditSpoolPath: String?
    public var auditSpoolMaxBytes: Int64
    public var auditDropWhenFull: Bool
    /// Cap on the readable copy `audit.jsonl` (``AuditMirror``), which then
    /// moves to `audit.jsonl.1`; 0: no copy.
    public var auditJSONLMaxBytes: Int64
    public var auditCheckpointEveryRecords: Int
    public var auditCheckpointInterval: Duration
    /// Hold a CPU latency QoS request of 0 µs while calls arrive
    /// (`CPULatencyHold`): idle CPUs poll instead of halting. Opt-in: it is
    /// machine-wide and costs host CPU while held.
    public var cpuLatencyQoS: Bool
    public var collector: CollectorSettings

    public init() {
        sidecarId = ProcessInfo.processInfo.hostName
        listen = ListenAddress(host: "127.0.0.1", port: 7474)
        adminListen = ListenAddress(host: "127.0.0.1", port: 7475)
        credentialsListen = ListenAddress(host: "127.0.0.1", port: 7476)
        allowedClients = [CIDRBlock("127.0.0.0/8")!, CIDRBlock("::1/128")!]
        stateDir = ".rein"
        policyFile = nil
        mode = .enforce
        accountId = "123456789012"
        agentCredentialTTL = 3600
        agentTokenFile = nil
        staticAgentKeys = []
        upstreamEndpoint = nil
        fips = false
        dualstack = false
        upstreamCABundle = nil
        upstreamConnectTimeout = 5
        upstreamIdleTimeout = 120
        interceptDomains = ["amazonaws.com", "amazonaws.com.cn", "api.aws"]
        passthroughHosts = []
        brokerYAML = nil
        maxConnections = 512
        maxHeaderBytes = 64 * 1024
        headerTimeout = 10
        idleTimeout = 120
        maxInspectedBody = 8 << 20
        clockSkew = 900
        auditFsync = true
        auditSpoolPath = nil
        auditSpoolMaxBytes = 256 << 20
        auditDropWhenFull = false
        auditJSONLMaxBytes = 64 << 20
        auditCheckpointEveryRecords = 1000
        auditCheckpointInterval = .seconds(60)
        cpuLatencyQoS = false
        policyReloadInterval = .seconds(10)
        collector = CollectorSettings()
    }

    /// The audit spool, defaulting into the state directory.
    public var resolvedAuditSpoolPath: String { auditSpoolPath ?? (stateDir as NSString).appendingPathComponent("audit-spool.db") }
    /// The readable JSONL copy of the chain (best effort, not the record of truth).
    public var auditMirrorPath: String { (stateDir as NSString).appendingPathComponent("audit.jsonl") }
    /// The checkpoint signing key (hex seed, mode 0600).
    public var auditSigningKeyPath: String { (stateDir as NSString).appendingPathComponent("audit-signing.key") }
    public var resolvedAgentTokenFile: String { agentTokenFile ?? (stateDir as NSString).appendingPathComponent("agent-token") }
    /// The agent credentials issued so far, kept across restarts (``AgentCredentialFile``).
    public var agentCredentialsPath: String { (stateDir as NSString).appendingPathComponent("agent-credentials.json") }
    public var caDirectory: String { (stateDir as NSString).appendingPathComponent("ca") }
}
