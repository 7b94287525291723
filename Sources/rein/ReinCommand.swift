import ArgumentParser
import Foundation
import Logging

@main
struct ReinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rein",
        abstract: "Keep an AI agent's AWS access on a short rein.",
        discussion: """
            Rein verifies the SigV4 signature of every AWS call an agent makes, \
            decides it against a task-scoped allowlist, and re-signs allowed calls \
            with short-lived broker credentials.
            """,
        version: ReinVersion.current,
        subcommands: [SidecarCommand.self, CollectorCommand.self, HoldsCommand.self, ReportCommand.self, CACommand.self, SigV4Command.self, CatalogCommand.self, PolicyCommand.self, AuditCommand.self,
                      FleetCommand.self, VersionCommand.self]
    )

    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = SingleLineLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = ProcessInfo.processInfo.environment["REIN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

enum ReinVersion {
    static let current = "0.1.0"
}
