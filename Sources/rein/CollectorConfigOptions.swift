import ArgumentParser
import Foundation
import ReinCollector
import ReinServiceKit

/// Where `rein collector run` and `check-config` read the configuration:
/// one YAML file, then `REIN_COLLECTOR_*` variables, then these flags.
struct CollectorConfigOptions: ParsableArguments {
    @Option(help: "The collector's YAML configuration file (env: REIN_COLLECTOR_CONFIG).")
    var config: String?
    @Option(help: "Listener host:port, default 127.0.0.1:7700 (env: REIN_COLLECTOR_LISTEN).")
    var listen: String?
    @Option(help: "Directory for the database (env: REIN_COLLECTOR_STATE_DIR).")
    var stateDir: String?
    @Option(help: "The SQLite database file, default <state-dir>/collector.sqlite (env: REIN_COLLECTOR_DATABASE).")
    var database: String?
    @Option(help: "PEM certificate chain for TLS (env: REIN_COLLECTOR_TLS_CERTIFICATE).")
    var tlsCertificate: String?
    @Option(help: "PEM private key for TLS (env: REIN_COLLECTOR_TLS_KEY).")
    var tlsKey: String?
    @Option(help: "Keep records this long, e.g. 400d (env: REIN_COLLECTOR_RETENTION).")
    var retention: String?
    @Option(help: "Flag a sidecar silent after this long without a heartbeat or batch, e.g. 2m (env: REIN_COLLECTOR_SILENT_AFTER).")
    var silentAfter: String?
    @Option(help: "Also post every integrity finding to this webhook, Slack-compatible JSON (env: REIN_COLLECTOR_ALERTS_WEBHOOK_URL).")
    var alertsWebhookUrl: String?

    /// The configuration from the file, the environment and the flags; read
    /// again on SIGHUP.
    func loadConfiguration() throws(CollectorConfigurationError) -> CollectorConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let yaml = try ConfigurationError.readFile(config ?? environment["REIN_COLLECTOR_CONFIG"])
        var overrides: [String: String] = [:]
        overrides["listen"] = listen
        overrides["state_dir"] = stateDir
        overrides["database"] = database
        overrides["tls.certificate"] = tlsCertificate
        overrides["tls.key"] = tlsKey
        overrides["retention"] = retention
        overrides["fleet.silent_after"] = silentAfter
        overrides["alerts.webhook_url"] = alertsWebhookUrl
        return try CollectorConfigurationLoader.load(yaml: yaml, environment: environment, overrides: overrides)
    }
}
