import ArgumentParser
import Foundation
import ReinServiceKit
import ReinSidecar

/// Where `rein sidecar run` and `check-config` read the configuration: one
/// YAML file, then `REIN_*` variables, then these flags.
struct SidecarConfigOptions: ParsableArguments {
    @Option(help: "The sidecar's YAML configuration file (env: REIN_CONFIG).")
    var config: String?
    @Option(help: "Agent listener host:port, for endpoint mode and HTTPS_PROXY (env: REIN_LISTEN).")
    var listen: String?
    @Option(help: "Admin listener host:port for /healthz, /readyz, /metrics (env: REIN_ADMIN_LISTEN).")
    var adminListen: String?
    @Option(help: "Credentials listener host:port (env: REIN_CREDENTIALS_LISTEN).")
    var credentialsListen: String?
    @Option(help: "The task policy file (env: REIN_POLICY_FILE).")
    var policy: String?
    @Option(help: "enforce, observe or learn (env: REIN_MODE).")
    var mode: String?
    @Option(help: "Directory for the CA, agent token and audit log (env: REIN_STATE_DIR).")
    var stateDir: String?
    @Option(help: "Send every call to this AWS-compatible server, e.g. http://127.0.0.1:5000 (env: REIN_UPSTREAM_ENDPOINT).")
    var upstreamEndpoint: String?
    @Option(help: "The AWS account that resource ARNs are built in (env: REIN_ACCOUNT_ID).")
    var accountId: String?

    /// The configuration from the file, the environment and the flags.
    func loadConfiguration() throws(ConfigurationError) -> SidecarConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let yaml = try ConfigurationError.readFile(config ?? environment["REIN_CONFIG"])
        var overrides: [String: String] = [:]
        overrides["listen"] = listen
        overrides["admin_listen"] = adminListen
        overrides["credentials_listen"] = credentialsListen
        overrides["policy_file"] = policy
        overrides["mode"] = mode
        overrides["state_dir"] = stateDir
        overrides["upstream.endpoint"] = upstreamEndpoint
        overrides["account_id"] = accountId
        return try SidecarConfigurationLoader.load(yaml: yaml, environment: environment, overrides: overrides)
    }
}
