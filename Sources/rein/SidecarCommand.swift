import ArgumentParser
import Foundation
import Logging
import ReinServiceKit
import ReinSidecar

/// `rein sidecar`: runs the sidecar (`run`, the default) or checks its configuration (`check-config`).
struct SidecarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sidecar",
        abstract: "Run the sidecar: verify, decide, re-sign and forward an agent's AWS calls.",
        subcommands: [SidecarRunCommand.self, SidecarCheckConfigCommand.self],
        defaultSubcommand: SidecarRunCommand.self)
}

/// `rein sidecar run`: runs the sidecar until SIGTERM or SIGINT.
struct SidecarRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the sidecar until SIGTERM or SIGINT.",
        discussion: """
            Configuration comes from one YAML file (--config or REIN_CONFIG), then \
            REIN_* environment variables, then these flags, each overriding the one before. \
            The agent points its SDK at the sidecar with the environment printed at start-up. \
            SIGHUP reads the policy file again and puts it in force if it is valid for this sidecar \
            (a policy-change event in the audit trail records it); one that is not changes nothing, \
            and the log says why. With a collector, its versions are the policy and SIGHUP changes nothing.
            """)

    @OptionGroup var options: SidecarConfigOptions
    @Option(help: "Write the agent's environment (export lines) to this file once listening.")
    var envFile: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: SidecarConfiguration
        do { configuration = try options.loadConfiguration() } catch { throw CommandFailure.configuration(error.description) }
        let logger = Logger(label: "rein.sidecar")
        let running: RunningSidecar
        do {
            running = try await SidecarLauncher.launch(configuration, environment: environment, version: ReinVersion.current, logger: logger)
        } catch {
            throw CommandFailure.failed("the sidecar could not start: \(error)")
        }
        func lines(_ env: [(String, String)]) -> String {
            env.map { "export \($0.0)=\(Self.shellQuote($0.1))\n" }.joined()
        }
        let endpoint = lines(running.agentEnvironment)
        // An agent that waits for this file would otherwise wait for good.
        if let envFile, !FileManager.default.createFile(atPath: envFile, contents: Data(endpoint.utf8), attributes: [.posixPermissions: 0o600]) {
            await running.shutdown()
            throw CommandFailure.failed("cannot write the agent's environment to \(envFile) (--env-file): check that its directory exists and is writable")
        }
        let text = "# The agent's environment (endpoint mode):\n\(endpoint)"
            + "# or, forward-proxy mode: unset AWS_ENDPOINT_URL and set\n\(lines(running.proxyEnvironment))"
        FileHandle.standardError.write(Data(text.utf8))
        // SIGHUP: policy_file is read again (with a collector, its versions are the policy).
        let reloads = ReloadSignal {
            if let reload = running.policyReload {
                reload.reload()
            } else {
                logger.notice("SIGHUP: nothing to reload; the policy comes from the collector, which the sidecar follows by itself")
            }
        }
        await running.waitForShutdownSignal()
        reloads.cancel()
        await running.shutdown()
    }

    static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
