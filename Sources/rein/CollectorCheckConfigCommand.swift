import ArgumentParser
import Foundation
import Logging
import ReinCollector
import ReinCompliance

/// `rein collector check-config`: reads the configuration as `run` would and
/// says what it sets, without starting anything.
///
/// Why: SIGHUP applies a new token list or certificate to a running
/// collector, and a file that does not load is only logged. Checking first
/// (in CI, or before `kill -HUP`) says what is wrong where the operator is
/// looking, with the exit codes `run` uses.
struct CollectorCheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the collector's configuration as `run` would read it, and print what it sets.",
        discussion: """
            Reads the file, REIN_COLLECTOR_* variables and the flags, loads the TLS certificate and key and the \
            framework catalogs of compliance_dir, and prints the listener, the tokens by role and the retention. \
            Exit 0: `run` would start with it (and SIGHUP would take it); 78: it would not, and why is said. \
            A certificate that has expired is an error, one that expires within 14 days a warning.
            """)

    @OptionGroup var options: CollectorConfigOptions

    func run() throws {
        let configuration: CollectorConfiguration
        do { configuration = try options.loadConfiguration() } catch { throw CommandFailure.configuration(error.description) }
        var lines = ["configuration OK" + (options.config.map { ": \($0)" } ?? "")]
        var warnings: [String] = []
        var tlsLine = "plain HTTP (no tls.certificate and tls.key)"
        if configuration.tlsEnabled, let cert = configuration.tlsCertificate, let key = configuration.tlsKey {
            let tls: CollectorTLS
            do { tls = try CollectorTLS(certificateFile: cert, keyFile: key, logger: Logger(label: "rein.check")) } catch {
                throw CommandFailure.configuration(error.description)
            }
            if let notAfter = tls.notAfter {
                let left = notAfter.timeIntervalSinceNow
                let when = ISO8601DateFormatter().string(from: notAfter)
                guard left > 0 else { throw CommandFailure.configuration("tls.certificate: \(cert) expired at \(when)") }
                tlsLine = "TLS, certificate \(cert) valid until \(when) (\(Int(left / 86_400)) days)"
                if left < CollectorTLS.expiryWarning { warnings.append("the TLS certificate expires in \(Int(left / 3600)) hours: renew it (SIGHUP or the next minute's check picks it up)") }
            } else {
                tlsLine = "TLS, certificate \(cert)"
            }
        }
        lines.append("  listen     \(configuration.listen) (\(tlsLine))")
        lines.append("  database   \(configuration.resolvedDatabase)")
        if let network = CollectorLauncher.storageWarning(configuration) { warnings.append(network) }
        var byRole: [String] = []
        for role in CollectorRole.allCases {
            let names = configuration.tokens.filter { $0.roles.contains(role) }.map(\.name).sorted()
            if !names.isEmpty { byRole.append("\(role.rawValue): \(names.joined(separator: ", "))") }
        }
        lines.append("  tokens     \(configuration.tokens.count) (\(byRole.joined(separator: "; ")))")
        lines.append("  retention  \(configuration.retention / 86_400)d; a sidecar is silent after \(configuration.silentAfter)s")
        if let dir = configuration.backupDir {
            lines.append("  backups    into \(dir) every \(configuration.backupInterval)s, the newest \(configuration.backupKeep) kept")
            if let copy = configuration.backupCopy {
                lines.append("             each copied to \(Self.describe(copy))")
            }
        } else {
            lines.append("  backups    none taken by the collector (backup.dir unset; `rein collector backup` still works)")
            if let copy = configuration.backupCopy {
                lines.append("             `rein collector backup DIR --copy` copies to \(Self.describe(copy))")
            }
        }
        if let dir = configuration.complianceDir {
            do {
                let catalogs = try ComplianceCatalogLoader.loadAll(directory: dir)
                lines.append("  frameworks \(catalogs.map(\.framework.id).joined(separator: ", ")) (\(dir))")
            } catch {
                throw CommandFailure.configuration("compliance_dir: \(error)")
            }
        }
        print(lines.joined(separator: "\n"))
        for warning in warnings { FileHandle.standardError.write(Data("rein: warning: \(warning)\n".utf8)) }
    }

    /// `s3://… (region via endpoint; encryption; credentials: provider)`.
    static func describe(_ copy: BackupCopyDestination) -> String {
        let endpoint = copy.endpoint.map { " via \($0.url)" } ?? ""
        let encryption = copy.kmsKeyId.map { "SSE-KMS with \($0)" } ?? "the bucket's default encryption"
        return "\(copy.url) (\(copy.region)\(endpoint); \(encryption); credentials: \(copy.credentials.provider.rawValue))"
    }
}
