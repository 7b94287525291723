import Foundation
import ReinAudit

/// What a configuration reload (SIGHUP) did: the tokens put in force, the
/// TLS identity read again, and the keys that changed but need a restart.
public struct CollectorReload: Sendable, Equatable {
    public var tokens: TokenChange
    /// Nil when TLS is off.
    public var tls: CollectorTLS.Outcome?
    /// Keys whose new values take effect only after a restart.
    public var needRestart: [String]

    /// The keys `new` changes that a running collector cannot take.
    static func keysNeedingRestart(from old: CollectorConfiguration, to new: CollectorConfiguration) -> [String] {
        var keys: [String] = []
        func check(_ key: String, _ differs: Bool) { if differs { keys.append(key) } }
        check("listen", old.listen != new.listen)
        check("state_dir", old.stateDir != new.stateDir)
        check("database", old.resolvedDatabase != new.resolvedDatabase)
        check("compliance_dir", old.complianceDir != new.complianceDir)
        check("tls", old.tlsEnabled != new.tlsEnabled)
        check("retention", old.retention != new.retention)
        check("fleet.silent_after", old.silentAfter != new.silentAfter)
        check("fleet.max_clock_skew", old.maxClockSkew != new.maxClockSkew)
        check("holds", old.holds != new.holds || old.holdsWebhookURL != new.holdsWebhookURL || old.holdsConsoleURL != new.holdsConsoleURL)
        check("alerts", old.alertsWebhookURL != new.alertsWebhookURL || old.alertsConsoleURL != new.alertsConsoleURL)
        check("backup", old.backupDir != new.backupDir || old.backupInterval != new.backupInterval || old.backupKeep != new.backupKeep
              || old.backupCopy != new.backupCopy)
        check("limits", old.maxConnections != new.maxConnections || old.headerTimeout != new.headerTimeout || old.bodyTimeout != new.bodyTimeout)
        return keys
    }
}

extension RunningCollector {
    /// Applies a configuration read again (SIGHUP): the API tokens at once
    /// (a `token-change` event in the collector's chain says what changed,
    /// by name), and the TLS certificate and key, read again even when their
    /// files look unchanged. Other keys that differ are logged as needing a
    /// restart; they keep their running values.
    ///
    /// Why tokens without a restart: revoking a leaked token must not wait
    /// for a maintenance window, nor drop every sidecar's connection.
    public func reload(_ configuration: CollectorConfiguration) async -> CollectorReload {
        let services = server.services
        let change = services.replaceTokens(configuration.tokens)
        if !change.isEmpty {
            let event = CollectorAuditTrail.tokenChange(change, time: services.now())
            let trail = self.trail
            let now = services.nowMillis
            do { _ = try await services.blocking { try trail.append(event, at: now) } } catch {
                services.logger.error("the API tokens were reloaded, but the token-change event could not be recorded",
                                      metadata: ["error": "\(error)"])
            }
        }
        services.logger.notice("API tokens reloaded from the configuration", metadata: [
            "tokens": "\(configuration.tokens.count)", "tokens.change": "\(change.summary)",
        ])
        var outcome = CollectorReload(tokens: change, tls: nil,
                                      needRestart: CollectorReload.keysNeedingRestart(from: services.configuration, to: configuration))
        if let tls = server.tls, configuration.tlsEnabled {
            outcome.tls = tls.reload(certificateFile: configuration.tlsCertificate, keyFile: configuration.tlsKey, force: true)
        }
        if !outcome.needRestart.isEmpty {
            services.logger.warning("configuration keys changed that take effect only after a restart; their running values stay",
                                    metadata: ["config.keys": "\(outcome.needRestart.joined(separator: ", "))"])
        }
        return outcome
    }
}
