import ArgumentParser
import Logging

@main
struct ReinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rein",
        abstract: "Keep an AI agent's AWS access on a short rein.",
        discussion: """
            Rein verifies the SigV4 signature of every AWS call an agent makes, \
            decides it against a task-scoped allowlist, and re-signs allowed calls \
            with short-lived broker credentials.
            """,
        version: ReinVersion.current,
        subcommands: [SigV4Command.self, CatalogCommand.self, PolicyCommand.self, VersionCommand.self]
    )

    static func main() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

enum ReinVersion {
    static let current = "0.1.0"
}
