import ArgumentParser
import Foundation
import ReinCollectorClient

/// How a CLI command reaches the collector: flags, then `REIN_COLLECTOR_*`
/// variables, as the AWS CLI and kubectl resolve theirs.
///
/// Why a token file: tokens are secrets, so they come from a file (a mounted
/// Kubernetes secret) or the environment, never from a flag that `ps` shows.
struct CollectorOptions: ParsableArguments {
    @Option(name: .customLong("collector"), help: "The collector's URL (REIN_COLLECTOR_URL).")
    var url: String?

    @Option(help: "A file holding the bearer token, mode 0600 (REIN_COLLECTOR_TOKEN_FILE; or the token in REIN_COLLECTOR_TOKEN).")
    var tokenFile: String?

    @Option(help: "A PEM CA bundle for the collector's TLS certificate (REIN_COLLECTOR_CA_FILE).")
    var caFile: String?

    func client(timeout: Double = 30) throws -> CollectorClient {
        let env = ProcessInfo.processInfo.environment
        guard let base = url ?? env["REIN_COLLECTOR_URL"], !base.isEmpty else {
            throw ValidationError("give --collector URL or set REIN_COLLECTOR_URL")
        }
        let file = tokenFile ?? env["REIN_COLLECTOR_TOKEN_FILE"]
        let variable = env["REIN_COLLECTOR_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        guard file != nil || variable != nil else {
            throw ValidationError("give --token-file FILE, or set REIN_COLLECTOR_TOKEN_FILE or REIN_COLLECTOR_TOKEN")
        }
        // A token file others can read, or a URL without a scheme, is
        // reported as every collector problem is (`rein: …`, exit 1).
        do {
            let ca = caFile ?? env["REIN_COLLECTOR_CA_FILE"]
            if let file {
                // Read again when it changes: a long `rein audit tail` survives a token rotation.
                return try CollectorClient(baseURL: base, tokenFile: file, caBundlePath: ca, timeout: timeout)
            }
            return try CollectorClient(baseURL: base, token: variable ?? "", caBundlePath: ca, timeout: timeout)
        } catch {
            throw CommandFailure.failed(error)
        }
    }
}

