import ReinUpstream
import Foundation
import ReinCrypto
import ReinPolicy
import Yams
import ReinServiceKit

/// Builds a ``CollectorConfiguration`` from YAML text, the environment and
/// flag overrides, in that order of increasing precedence, and validates it.
///
/// Why strict: a typo in a security service's configuration (an unknown
/// key, a role name misspelt) must stop it at start-up with the key and the
/// line, not run it with a default the operator did not mean.
public enum CollectorConfigurationLoader {
    /// Environment variables read, and the key each overrides.
    public static let environmentKeys: [(variable: String, key: String)] = [
        ("REIN_COLLECTOR_LISTEN", "listen"), ("REIN_COLLECTOR_STATE_DIR", "state_dir"),
        ("REIN_COLLECTOR_DATABASE", "database"), ("REIN_COLLECTOR_TLS_CERTIFICATE", "tls.certificate"),
        ("REIN_COLLECTOR_TLS_KEY", "tls.key"), ("REIN_COLLECTOR_RETENTION", "retention"),
        ("REIN_COLLECTOR_SILENT_AFTER", "fleet.silent_after"), ("REIN_COLLECTOR_MAX_CLOCK_SKEW", "fleet.max_clock_skew"),
        ("REIN_COLLECTOR_ALERTS_WEBHOOK_URL", "alerts.webhook_url"), ("REIN_COLLECTOR_BACKUP_DIR", "backup.dir"),
        ("REIN_COLLECTOR_BACKUP_COPY_TO", "backup.copy_to.url"),
    ]

    private static let topKeys: Set<String> = ["listen", "state_dir", "database", "tls", "retention", "fleet", "tokens", "holds", "alerts", "compliance_dir", "limits", "backup"]
    private static let tokenKeys: Set<String> = ["name", "roles", "sha256", "agents", "owns_agents", "sidecar_ids"]

    public static func load(yaml: String?, environment: [String: String] = [:],
                            overrides: [String: String] = [:]) throws(CollectorConfigurationError) -> CollectorConfiguration {
        var config = CollectorConfiguration()
        if let yaml, !yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let node: Node?
            do { node = try Yams.compose(yaml: yaml) } catch {
                throw CollectorConfigurationError(key: "(file)", message: "not valid YAML: \(YAMLErrorText.describe(error))")
            }
            if let node {
                guard let map = node.mapping else {
                    throw CollectorConfigurationError(key: "(file)", message: "the top level must be a mapping", line: line(node))
                }
                try apply(map, environment: environment, to: &config)
            }
        }
        var flat: [String: String] = [:]
        for (variable, key) in environmentKeys {
            if let v = environment[variable], !v.isEmpty { flat[key] = v }
        }
        for (k, v) in overrides where !v.isEmpty { flat[k] = v }
        for (key, value) in flat.sorted(by: { $0.key < $1.key }) {
            if key == "backup.copy_to.url" {
                try overrideCopyURL(value, environment: environment, in: &config)
                continue
            }
            try applyScalar(key: key, value: value, line: nil, to: &config)
        }
        try validate(config)
        return config
    }

    static func line(_ node: Node) -> Int? { node.mark.map { $0.line } }

    static func apply(_ map: Node.Mapping, environment: [String: String], to config: inout CollectorConfiguration) throws(CollectorConfigurationError) {
        for (keyNode, valueNode) in map {
            let line = line(keyNode)
            guard let key = keyNode.string, topKeys.contains(key) else {
                throw CollectorConfigurationError(key: keyNode.string ?? "?", message: "unknown key (known: \(topKeys.sorted().joined(separator: ", ")))", line: line)
            }
            switch key {
            case "tls", "fleet", "holds", "alerts", "limits", "backup":
                guard let section = valueNode.mapping else {
                    throw CollectorConfigurationError(key: key, message: "must be a mapping", line: line)
                }
                let allowed: Set<String> = key == "tls" ? ["certificate", "key"]
                    : key == "fleet" ? ["silent_after", "max_clock_skew"]
                    : key == "alerts" ? ["webhook_url", "console_url"]
                    : key == "limits" ? ["max_connections", "header_timeout", "body_timeout"]
                    : key == "backup" ? ["dir", "interval", "keep", "copy_to"]
                    : ["expire", "max_grant", "default_grant", "allow_owner_approval", "webhook_url", "console_url"]
                for (subKey, subValue) in section {
                    let name = subKey.string ?? "?"
                    guard allowed.contains(name) else {
                        throw CollectorConfigurationError(key: "\(key).\(name)", message: "unknown key (known: \(allowed.sorted().joined(separator: ", ")))", line: Self.line(subKey))
                    }
                    if key == "backup", name == "copy_to" {
                        config.backupCopy = try backupCopy(subValue, environment: environment)
                        continue
                    }
                    guard let text = subValue.string else {
                        throw CollectorConfigurationError(key: "\(key).\(name)", message: "must be a single value", line: Self.line(subKey))
                    }
                    try applyScalar(key: "\(key).\(name)", value: text, line: Self.line(subKey), to: &config)
                }
            case "tokens":
                guard let list = valueNode.sequence else {
                    throw CollectorConfigurationError(key: key, message: "must be a list of tokens", line: line)
                }
                config.tokens = []
                for (index, item) in list.enumerated() {
                    config.tokens.append(try token(item, index: index))
                }
            default:
                guard let text = valueNode.string else {
                    throw CollectorConfigurationError(key: key, message: "must be a single value", line: line)
                }
                try applyScalar(key: key, value: text, line: line, to: &config)
            }
        }
    }

    static func token(_ node: Node, index: Int) throws(CollectorConfigurationError) -> CollectorToken {
        let place = "tokens[\(index)]"
        guard let map = node.mapping else {
            throw CollectorConfigurationError(key: place, message: "must be a mapping with name, roles and sha256", line: line(node))
        }
        for keyNode in map.keys where !tokenKeys.contains(keyNode.string ?? "") {
            throw CollectorConfigurationError(key: "\(place).\(keyNode.string ?? "?")",
                                              message: "unknown key (known: \(tokenKeys.sorted().joined(separator: ", ")))", line: line(keyNode))
        }
        func string(_ key: String) throws(CollectorConfigurationError) -> String {
            guard let value = map[key]?.string, !value.isEmpty else {
                throw CollectorConfigurationError(key: "\(place).\(key)", message: "is required", line: line(node))
            }
            return value
        }
        func list(_ key: String) throws(CollectorConfigurationError) -> [String] {
            guard let value = map[key] else { return [] }
            if let single = value.string { return [single] }
            guard let items = value.sequence else {
                throw CollectorConfigurationError(key: "\(place).\(key)", message: "must be a list", line: line(value))
            }
            var out: [String] = []
            for item in items {
                guard let s = item.string, !s.isEmpty else {
                    throw CollectorConfigurationError(key: "\(place).\(key)", message: "entries must be non-empty strings", line: line(item))
                }
                out.append(s)
            }
            return out
        }
        let name = try string("name")
        let hash = try string("sha256").lowercased()
        guard hash.count == 64, Hex.decode(hash) != nil else {
            throw CollectorConfigurationError(key: "\(place).sha256", message: "must be 64 hex digits (made with `rein collector hash-token`), not a token", line: map["sha256"].flatMap(line))
        }
        var roles: Set<CollectorRole> = []
        for text in try list("roles") {
            guard let role = CollectorRole(rawValue: text) else {
                throw CollectorConfigurationError(key: "\(place).roles", message: "unknown role \(ConfigText.quoted(text)) (known: \(CollectorRole.allCases.map(\.rawValue).joined(separator: ", ")))", line: map["roles"].flatMap(line))
            }
            roles.insert(role)
        }
        guard !roles.isEmpty else {
            throw CollectorConfigurationError(key: "\(place).roles", message: "at least one role is required", line: line(node))
        }
        let agents = Set(try list("agents"))
        if roles.contains(.sidecar), agents.isEmpty {
            throw CollectorConfigurationError(key: "\(place).agents", message: "a sidecar token must list the agents it serves", line: line(node))
        }
        let sidecarIds = try list("sidecar_ids")
        if !sidecarIds.isEmpty, !roles.contains(.sidecar) {
            throw CollectorConfigurationError(key: "\(place).sidecar_ids", message: "only a sidecar token acts as sidecar ids", line: map["sidecar_ids"].flatMap(line))
        }
        if let bad = sidecarIds.first(where: { $0.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control } }) {
            throw CollectorConfigurationError(key: "\(place).sidecar_ids", message: "'\(bad)' has spaces or control characters, which no sidecar id has",
                                              line: map["sidecar_ids"].flatMap(line))
        }
        return CollectorToken(name: name, roles: roles, sha256: hash, agents: agents, ownsAgents: Set(try list("owns_agents")),
                              sidecarIds: sidecarIds.map(SidecarIdPattern.init))
    }

    static func applyScalar(key: String, value: String, line: Int?, to config: inout CollectorConfiguration) throws(CollectorConfigurationError) {
        switch key {
        case "listen":
            guard let address = ListenAddress(value) else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not host:port", line: line)
            }
            config.listen = address
        case "state_dir": config.stateDir = value
        case "compliance_dir": config.complianceDir = value
        case "database":
            // Only SQLite files for now; a connection URL must not become a
            // file of that name (nor its password a log line): say so.
            if let scheme = value.range(of: "^[A-Za-z][A-Za-z0-9+.-]*://", options: .regularExpression) {
                throw CollectorConfigurationError(key: key, message: "'\(value[scheme].dropLast(3))://…' is a URL; this collector stores in a "
                                                  + "SQLite file, so give its path (PostgreSQL is not supported yet)", line: line)
            }
            config.database = value
        case "tls.certificate": config.tlsCertificate = value
        case "tls.key": config.tlsKey = value
        case "retention", "fleet.silent_after", "fleet.max_clock_skew":
            guard let seconds = DurationText.seconds(value) else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a duration such as 30s, 2m, 1h or 400d", line: line)
            }
            switch key {
            case "retention": config.retention = seconds
            case "fleet.silent_after": config.silentAfter = seconds
            default: config.maxClockSkew = seconds
            }
        case "limits.header_timeout", "limits.body_timeout":
            guard let seconds = DurationText.seconds(value), seconds > 0 else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a duration such as 30s or 5m", line: line)
            }
            if key == "limits.header_timeout" { config.headerTimeout = seconds } else { config.bodyTimeout = seconds }
        case "limits.max_connections":
            guard let n = Int(value), n > 0 else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a positive number", line: line)
            }
            config.maxConnections = n
        case "holds.expire", "holds.max_grant", "holds.default_grant":
            guard let seconds = DurationText.seconds(value), seconds > 0 else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a duration such as 30s, 15m or 1h", line: line)
            }
            switch key {
            case "holds.expire": config.holds.expire = .seconds(seconds)
            case "holds.max_grant": config.holds.maxGrant = .seconds(seconds)
            default: config.holds.defaultGrant = .seconds(seconds)
            }
        case "holds.allow_owner_approval":
            guard let flag = Bool(value.lowercased()) else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not true or false", line: line)
            }
            config.holds.allowOwnerApproval = flag
        case "holds.webhook_url", "alerts.webhook_url":
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw CollectorConfigurationError(key: key, message: "'\(URLText.redacted(value))' must be an http(s) URL", line: line)
            }
            if key == "holds.webhook_url" { config.holdsWebhookURL = value } else { config.alertsWebhookURL = value }
        case "backup.dir":
            config.backupDir = value
        case "backup.interval":
            guard let seconds = DurationText.seconds(value), seconds >= 60 else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a duration of at least 1m, such as 6h or 1d", line: line)
            }
            config.backupInterval = seconds
        case "backup.keep":
            guard let n = Int(value), n >= 1 else {
                throw CollectorConfigurationError(key: key, message: "\(ConfigText.quoted(value)) is not a number of backups, at least 1", line: line)
            }
            config.backupKeep = n
        case "holds.console_url": config.holdsConsoleURL = value
        case "alerts.console_url": config.alertsConsoleURL = value
        default:
            throw CollectorConfigurationError(key: key, message: "unknown key", line: line)
        }
    }

    static func validate(_ config: CollectorConfiguration) throws(CollectorConfigurationError) {
        guard !config.tokens.isEmpty else {
            throw CollectorConfigurationError(key: "tokens", message: "no API tokens are configured: every request would be refused (add tokens made with `rein collector hash-token`)")
        }
        var names = Set<String>()
        var hashes = Set<String>()
        for token in config.tokens {
            guard names.insert(token.name).inserted else {
                throw CollectorConfigurationError(key: "tokens", message: "the name '\(token.name)' is used twice: audit events could not tell the tokens apart")
            }
            guard hashes.insert(token.sha256).inserted else {
                throw CollectorConfigurationError(key: "tokens", message: "two tokens ('\(token.name)' and another) have the same sha256")
            }
        }
        if (config.tlsCertificate == nil) != (config.tlsKey == nil) {
            throw CollectorConfigurationError(key: config.tlsCertificate == nil ? "tls.certificate" : "tls.key",
                                              message: "tls.certificate and tls.key must be set together")
        }
        guard config.retention >= 86_400 else {
            throw CollectorConfigurationError(key: "retention", message: "must be at least 1d")
        }
        if let dir = config.backupDir {
            let backups = URL(fileURLWithPath: dir).standardizedFileURL.path
            let state = URL(fileURLWithPath: config.stateDir).standardizedFileURL.path
            // Restoring moves the state directory's files aside: backups must not be among them.
            guard backups != state, !(backups + "/").hasPrefix(state + "/"), !(state + "/").hasPrefix(backups + "/") else {
                throw CollectorConfigurationError(key: "backup.dir", message: "\(dir) and state_dir \(config.stateDir) must not contain each other: "
                                                  + "give backups a directory of their own (on another volume, or copied off it)")
            }
        }
    }
}
