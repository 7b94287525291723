import ReinUpstream
import Foundation
import ReinPolicy
import ReinAudit
import ReinHolds
import Yams
import ReinServiceKit

/// Builds a ``SidecarConfiguration`` from YAML text, the environment and
/// flag overrides, in that order of increasing precedence.
public enum SidecarConfigurationLoader {
    /// Environment variables read, and the key each overrides.
    public static let environmentKeys: [(variable: String, key: String)] = [
        ("REIN_LISTEN", "listen"), ("REIN_ADMIN_LISTEN", "admin_listen"),
        ("REIN_CREDENTIALS_LISTEN", "credentials_listen"), ("REIN_STATE_DIR", "state_dir"),
        ("REIN_POLICY_FILE", "policy_file"), ("REIN_MODE", "mode"), ("REIN_ACCOUNT_ID", "account_id"),
        ("REIN_UPSTREAM_ENDPOINT", "upstream.endpoint"), ("REIN_SIDECAR_ID", "sidecar_id"),
        ("REIN_COLLECTOR_URL", "collector.url"), ("REIN_COLLECTOR_TOKEN_FILE", "collector.token_file"),
        ("REIN_AGENT_ID", "collector.agent_id"), ("REIN_CPU_LATENCY_QOS", "cpu_latency_qos"),
    ]

    private static let knownTopKeys: Set<String> = [
        "sidecar_id", "listen", "admin_listen", "credentials_listen", "allowed_clients", "state_dir", "policy_file",
        "mode", "account_id", "agent_credentials", "upstream", "proxy", "broker", "limits", "audit", "collector", "holds",
        "cpu_latency_qos", "policy_reload_interval",
    ]

    public static func load(yaml: String?, environment: [String: String], overrides: [String: String]) throws(ConfigurationError) -> SidecarConfiguration {
        var config = SidecarConfiguration()
        if let yaml, !yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let node: Node?
            do { node = try Yams.compose(yaml: yaml) } catch {
                throw ConfigurationError(key: "(file)", message: "not valid YAML: \(YAMLErrorText.describe(error))")
            }
            if let node {
                guard let map = node.mapping else { throw ConfigurationError(key: "(file)", message: "the top level must be a mapping") }
                try apply(map, to: &config)
            }
        }
        var flat: [String: String] = [:]
        for (variable, key) in environmentKeys {
            if let v = environment[variable], !v.isEmpty { flat[key] = v }
        }
        for (k, v) in overrides { flat[k] = v }
        for (key, value) in flat.sorted(by: { $0.key < $1.key }) {
            try applyScalar(key: key, value: value, line: nil, to: &config)
        }
        try validate(config)
        return config
    }

    static func apply(_ map: Node.Mapping, to config: inout SidecarConfiguration) throws(ConfigurationError) {
        for (keyNode, valueNode) in map {
            guard let key = keyNode.string else { continue }
            let line = keyNode.mark.map { $0.line }
            guard knownTopKeys.contains(key) else {
                throw ConfigurationError(key: key, message: "unknown key (known: \(knownTopKeys.sorted().joined(separator: ", ")))", line: line)
            }
            switch key {
            case "allowed_clients":
                config.allowedClients = try list(valueNode, key: key).map { (text: String) throws(ConfigurationError) -> CIDRBlock in
                    guard let block = CIDRBlock(text) else { throw ConfigurationError(key: key, message: "'\(text)' is not a CIDR block", line: line) }
                    return block
                }
            case "broker":
                do { config.brokerYAML = try Yams.serialize(node: valueNode) } catch {
                    throw ConfigurationError(key: key, message: "cannot read the broker section: \(error)", line: line)
                }
            case "agent_credentials", "upstream", "proxy", "limits", "audit", "collector", "holds":
                guard let sub = valueNode.mapping else { throw ConfigurationError(key: key, message: "must be a mapping", line: line) }
                for (k, v) in sub {
                    guard let name = k.string else { continue }
                    let full = "\(key).\(name)"
                    let subLine = k.mark.map { $0.line }
                    switch full {
                    case "agent_credentials.static":
                        config.staticAgentKeys = try staticKeys(v, line: subLine)
                    case "proxy.intercept":
                        config.interceptDomains = try list(v, key: full).map { $0.lowercased() }
                    case "proxy.passthrough":
                        config.passthroughHosts = try list(v, key: full).map { $0.lowercased() }
                    case "holds.tokens":
                        config.holds.tokens = try holdTokens(v, line: subLine)
                    default:
                        guard let scalar = v.scalar?.string else { throw ConfigurationError(key: full, message: "must be a scalar", line: subLine) }
                        try applyScalar(key: full, value: scalar, line: subLine, to: &config)
                    }
                }
            default:
                guard let scalar = valueNode.scalar?.string else { throw ConfigurationError(key: key, message: "must be a scalar", line: line) }
                try applyScalar(key: key, value: scalar, line: line, to: &config)
            }
        }
    }

    static func applyScalar(key: String, value: String, line: Int?, to c: inout SidecarConfiguration) throws(ConfigurationError) {
        func address() throws(ConfigurationError) -> ListenAddress {
            guard let a = ListenAddress(value) else { throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not host:port", line: line) }
            return a
        }
        func duration() throws(ConfigurationError) -> Int64 {
            guard let s = DurationText.seconds(value) else { throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a duration such as 30s, 15m or 1h", line: line) }
            return s
        }
        func size() throws(ConfigurationError) -> Int {
            guard let b = ByteSizeText.bytes(value), b <= Int64(Int32.max) else { throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a size such as 64KiB or 8MiB", line: line) }
            return Int(b)
        }
        func interval() throws(ConfigurationError) -> Duration {
            guard let d = IntervalText.duration(value) else {
                throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a duration such as 500ms, 10s or 2m", line: line)
            }
            return d
        }
        func positive() throws(ConfigurationError) -> Int {
            guard let n = Int(value), n > 0 else { throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a positive integer", line: line) }
            return n
        }
        func bool() throws(ConfigurationError) -> Bool {
            switch value.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not true or false", line: line)
            }
        }
        switch key {
        case "sidecar_id": c.sidecarId = value
        case "listen": c.listen = try address()
        case "admin_listen": c.adminListen = try address()
        case "credentials_listen": c.credentialsListen = value.isEmpty || value == "off" ? nil : try address()
        case "state_dir": c.stateDir = value
        case "policy_file": c.policyFile = value
        case "policy_reload_interval": c.policyReloadInterval = value.lowercased() == "off" ? nil : try interval()
        case "mode":
            guard let m = PolicyMode(rawValue: value) else { throw ConfigurationError(key: key, message: "must be enforce, observe or learn", line: line) }
            c.mode = m
        case "account_id":
            guard value.count == 12, value.allSatisfy(\.isNumber) else { throw ConfigurationError(key: key, message: "must be a 12-digit AWS account id", line: line) }
            c.accountId = value
        case "agent_credentials.ttl": c.agentCredentialTTL = try duration()
        case "agent_credentials.token_file": c.agentTokenFile = value
        case "upstream.endpoint": c.upstreamEndpoint = value.isEmpty ? nil : value
        case "upstream.fips": c.fips = try bool()
        case "upstream.dualstack": c.dualstack = try bool()
        case "upstream.ca_bundle": c.upstreamCABundle = value
        case "upstream.connect_timeout": c.upstreamConnectTimeout = try duration()
        case "upstream.idle_timeout": c.upstreamIdleTimeout = try duration()
        case "limits.max_connections": c.maxConnections = try positive()
        case "limits.max_header_bytes": c.maxHeaderBytes = try size()
        case "limits.header_timeout": c.headerTimeout = try duration()
        case "limits.idle_timeout": c.idleTimeout = try duration()
        case "limits.max_inspected_body": c.maxInspectedBody = try size()
        case "limits.clock_skew": c.clockSkew = try duration()
        case "audit.path":
            throw ConfigurationError(key: key, message: "replaced by audit.spool_path (the durable SQLite spool); "
                                     + "a readable copy of the chain is still written to state_dir/audit.jsonl", line: line)
        case "audit.fsync": c.auditFsync = try bool()
        case "audit.spool_path": c.auditSpoolPath = value
        case "audit.spool_max_bytes":
            guard let b = CapacityText.bytes(value) else { throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a size such as 256Mi, 1Gi or 64MiB", line: line) }
            c.auditSpoolMaxBytes = b
        case "audit.drop_when_full": c.auditDropWhenFull = try bool()
        case "audit.jsonl_max_bytes":
            guard let b = value.trimmingCharacters(in: .whitespaces) == "0" ? 0 : CapacityText.bytes(value) else {
                throw ConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a size such as 64Mi, 1Gi or 0 (no copy)", line: line)
            }
            c.auditJSONLMaxBytes = b
        case "cpu_latency_qos": c.cpuLatencyQoS = try bool()
        case "audit.checkpoint_every_records": c.auditCheckpointEveryRecords = try positive()
        case "audit.checkpoint_interval": c.auditCheckpointInterval = try interval()
        case "holds.wait": c.holds.wait = try interval()
        case "holds.expire": c.holds.expire = try interval()
        case "holds.max_grant": c.holds.maxGrant = try interval()
        case "holds.default_grant": c.holds.defaultGrant = try interval()
        case "holds.allow_owner_approval": c.holds.allowOwnerApproval = try bool()
        case "holds.webhook_url": c.holds.webhookURL = value.isEmpty ? nil : value
        case "holds.console_url": c.holds.consoleURL = value.isEmpty ? nil : value
        case "holds.database": c.holds.databasePath = value.isEmpty ? nil : value
        case "collector.url": c.collector.url = value.isEmpty ? nil : value
        case "collector.agent_id": c.collector.agentId = value.isEmpty ? nil : value
        case "collector.token_file": c.collector.tokenFile = value.isEmpty ? nil : value
        case "collector.ca_file": c.collector.caFile = value.isEmpty ? nil : value
        case "collector.batch_max_records": c.collector.batchMaxRecords = try positive()
        case "collector.batch_max_interval": c.collector.batchMaxInterval = try interval()
        case "collector.policy_fetch":
            guard let f = CollectorSettings.PolicyFetch(rawValue: value) else {
                throw ConfigurationError(key: key, message: "must be long-poll or interval", line: line)
            }
            c.collector.policyFetch = f
        case "collector.policy_interval": c.collector.policyInterval = try interval()
        case "collector.heartbeat_interval": c.collector.heartbeatInterval = try interval()
        default: throw ConfigurationError(key: key, message: "unknown key", line: line)
        }
    }

    static func list(_ node: Node, key: String) throws(ConfigurationError) -> [String] {
        guard let seq = node.sequence else { throw ConfigurationError(key: key, message: "must be a list", line: node.mark?.line) }
        var out: [String] = []
        for item in seq {
            guard let s = item.string else { throw ConfigurationError(key: key, message: "items must be strings", line: item.mark?.line) }
            out.append(s)
        }
        return out
    }

    /// `holds.tokens`: name, roles (approver, auditor), sha256, owns_agents.
    static func holdTokens(_ node: Node, line: Int?) throws(ConfigurationError) -> [HoldTokenBook.Entry] {
        let key = "holds.tokens"
        guard let seq = node.sequence else { throw ConfigurationError(key: key, message: "must be a list", line: line) }
        var out: [HoldTokenBook.Entry] = []
        for (i, item) in seq.enumerated() {
            let place = "\(key)[\(i)]"
            guard let m = item.mapping, let name = m["name"]?.string, !name.isEmpty, let hash = m["sha256"]?.string else {
                throw ConfigurationError(key: place, message: "each token needs name, roles and sha256", line: item.mark?.line)
            }
            for k in m.keys where !["name", "roles", "sha256", "owns_agents"].contains(k.string ?? "") {
                throw ConfigurationError(key: "\(place).\(k.string ?? "?")", message: "unknown key (known: name, owns_agents, roles, sha256)", line: k.mark?.line)
            }
            guard hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
                throw ConfigurationError(key: "\(place).sha256", message: "must be 64 hex digits (made with `rein collector hash-token`), not a token", line: item.mark?.line)
            }
            var roles: Set<HoldTokenBook.Entry.Role> = []
            for text in try m["roles"].map({ (n: Node) throws(ConfigurationError) -> [String] in try list(n, key: "\(place).roles") }) ?? [] {
                guard let role = HoldTokenBook.Entry.Role(rawValue: text) else {
                    throw ConfigurationError(key: "\(place).roles", message: "\(ConfigText.quoted(text)) is not a role here (approver, auditor)", line: item.mark?.line)
                }
                roles.insert(role)
            }
            guard !roles.isEmpty else { throw ConfigurationError(key: "\(place).roles", message: "is required (approver, auditor)", line: item.mark?.line) }
            let owns = try m["owns_agents"].map { (n: Node) throws(ConfigurationError) -> [String] in try list(n, key: "\(place).owns_agents") } ?? []
            guard !out.contains(where: { $0.name == name }) else {
                throw ConfigurationError(key: place, message: "the token name \(name) is used twice", line: item.mark?.line)
            }
            out.append(HoldTokenBook.Entry(name: name, roles: roles, sha256: hash, ownsAgents: Set(owns)))
        }
        return out
    }

    static func staticKeys(_ node: Node, line: Int?) throws(ConfigurationError) -> [SidecarConfiguration.StaticAgentKey] {
        let key = "agent_credentials.static"
        guard let seq = node.sequence else { throw ConfigurationError(key: key, message: "must be a list", line: line) }
        var out: [SidecarConfiguration.StaticAgentKey] = []
        for item in seq {
            guard let m = item.mapping, let id = m["access_key_id"]?.string, let secret = m["secret_access_key"]?.string else {
                throw ConfigurationError(key: key, message: "each entry needs access_key_id and secret_access_key", line: item.mark?.line)
            }
            out.append(.init(accessKeyId: id, secretAccessKey: secret, sessionToken: m["session_token"]?.string))
        }
        return out
    }

    static func validate(_ c: SidecarConfiguration) throws(ConfigurationError) {
        if let e = c.upstreamEndpoint {
            guard let url = URL(string: e), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                  url.path.isEmpty || url.path == "/", url.query == nil else {
                throw ConfigurationError(key: "upstream.endpoint", message: "'\(URLText.redacted(e))' must be an http(s) URL with no path, such as http://127.0.0.1:5000")
            }
        }
        if c.agentCredentialTTL < 900 || c.agentCredentialTTL > 12 * 3600 {
            throw ConfigurationError(key: "agent_credentials.ttl", message: "must be between 15m and 12h (SDKs refresh 15 minutes before expiry)")
        }
        if c.allowedClients.isEmpty {
            throw ConfigurationError(key: "allowed_clients", message: "must name at least one CIDR block")
        }
        if let u = c.collector.url {
            guard let url = URL(string: u), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw ConfigurationError(key: "collector.url", message: "'\(URLText.redacted(u))' must be an http(s) URL such as https://collector.internal:7700")
            }
            if c.collector.tokenFile == nil {
                throw ConfigurationError(key: "collector.token_file", message: "is required when collector.url is set (the collector accepts no anonymous sidecar)")
            }
        }
        if let problem = SidecarIdentifier.problem(c.sidecarId) {
            throw ConfigurationError(key: "sidecar_id", message: "'\(c.sidecarId)' \(problem)")
        }
    }
}
