import Foundation
import ReinPolicy
import Yams

/// Everything one `rein sidecar` needs, from one YAML file plus overrides.
///
/// Precedence, as in the AWS CLI and kubectl: a flag beats an environment
/// variable, which beats the file, which beats the default. Durations are
/// `30s`/`15m`/`1h`; sizes are `64KiB`/`8MiB`. Every key:
///
/// ```yaml
/// sidecar_id: web-agent-1           # default: the host name
/// listen: 127.0.0.1:7474            # agent listener: endpoint mode and HTTPS_PROXY (REIN_LISTEN)
/// admin_listen: 127.0.0.1:7475      # /healthz /readyz /metrics (REIN_ADMIN_LISTEN)
/// credentials_listen: 127.0.0.1:7476  # ECS container-credentials endpoint (REIN_CREDENTIALS_LISTEN)
/// allowed_clients: [127.0.0.0/8, ::1/128]  # CIDRs allowed to connect to the agent listeners
/// state_dir: .rein                  # CA, agent token, audit log (REIN_STATE_DIR)
/// policy_file: policy.yaml          # the task allowlist (REIN_POLICY_FILE)
/// mode: enforce                     # enforce | observe | learn (REIN_MODE)
/// account_id: "123456789012"        # the account ARNs are built in (REIN_ACCOUNT_ID)
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
///   path: .rein/audit.jsonl
///   fsync: true
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
    public var credentialsListen: ListenAddress?
    public var allowedClients: [CIDRBlock]
    public var stateDir: String
    public var policyFile: String?
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
    public var auditPath: String?
    public var auditFsync: Bool

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
        auditPath = nil
        auditFsync = true
    }

    /// The audit log path, defaulting into the state directory.
    public var resolvedAuditPath: String { auditPath ?? (stateDir as NSString).appendingPathComponent("audit.jsonl") }
    public var resolvedAgentTokenFile: String { agentTokenFile ?? (stateDir as NSString).appendingPathComponent("agent-token") }
    public var caDirectory: String { (stateDir as NSString).appendingPathComponent("ca") }
}
