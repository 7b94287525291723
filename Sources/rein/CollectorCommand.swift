import ArgumentParser
import Foundation
import Logging
import ReinCollector
import ReinServiceKit

/// `rein collector`: the central collector (`run`, the default), `check-config`, `hash-token`, `backup` and `restore`.
struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collector",
        abstract: "Run the central collector: audit ingest and verification, queries, central policies, fleet view.",
        subcommands: [CollectorRunCommand.self, CollectorCheckConfigCommand.self, CollectorHashTokenCommand.self,
                      CollectorBackupCommand.self, CollectorRestoreCommand.self],
        defaultSubcommand: CollectorRunCommand.self)
}

/// `rein collector run`: serves the API in docs/collector-api.md until SIGTERM or SIGINT.
struct CollectorRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve the collector API until SIGTERM or SIGINT.",
        discussion: """
            Configuration comes from one YAML file (--config or REIN_COLLECTOR_CONFIG), then \
            REIN_COLLECTOR_* environment variables, then these flags, each overriding the one before. \
            API tokens are configured in the file by their SHA-256 (see `rein collector hash-token`). \
            SIGHUP reads the configuration again and puts its API tokens and TLS certificate and key in force \
            (other keys need a restart, and the log names them); the TLS files are also checked every minute, \
            so a renewed certificate is served without a restart. \
            Logs go to standard error (REIN_LOG_LEVEL sets the level).
            """)

    @OptionGroup var options: CollectorConfigOptions

    func run() async throws {
        let configuration: CollectorConfiguration
        do { configuration = try options.loadConfiguration() } catch { throw CommandFailure.configuration(error.description) }
        let logger = Logger(label: "rein.collector")
        let running: RunningCollector
        do {
            running = try await CollectorLauncher.launch(configuration, logger: logger, version: ReinVersion.current)
        } catch {
            throw CommandFailure.failed("the collector could not start: \(error)")
        }
        // SIGHUP: the tokens and the TLS files are read again; a configuration
        // that does not load changes nothing, and the log says why.
        let options = self.options
        let reloads = ReloadSignal {
            Task {
                logger.notice("SIGHUP: reading the configuration again")
                do {
                    _ = await running.reload(try options.loadConfiguration())
                } catch {
                    logger.error("the configuration was not reloaded, nothing changed", metadata: ["error": "\(error)"])
                }
            }
        }
        await running.waitForShutdownSignal()
        reloads.cancel()
        logger.info("shutting down")
        await running.shutdown()
    }
}

/// `rein collector hash-token`: the SHA-256 the configuration stores for a token read from stdin.
struct CollectorHashTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-token",
        abstract: "Print the SHA-256 (hex) of a token read from standard input, for the collector's tokens list.",
        discussion: "The token is read from standard input (not an argument, so that it stays out of shell history); surrounding whitespace and line ends are ignored, exactly as the clients ignore them in a token file.")

    func run() throws {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        // Trimmed as CollectorClient trims a token file, so that the hash
        // matches what clients send (a CRLF file included).
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw CommandFailure.failed("no token on standard input") }
        guard !token.contains(where: { $0.isNewline }) else {
            throw CommandFailure.failed("the token on standard input spans lines; a token is one line")
        }
        if token.count < 32 {
            FileHandle.standardError.write(Data("warning: the token is shorter than 32 characters; use a long random token (e.g. openssl rand -hex 32)\n".utf8))
        }
        print(CollectorAuthenticator.hash(token: token))
    }
}
