import ArgumentParser
import Foundation
import ReinSidecar

/// `rein sidecar check-config`: what a start would refuse, and what the
/// configuration sets, without binding a port or calling anything.
struct SidecarCheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the sidecar's configuration and policy file as a start would, and print what they set.",
        discussion: """
            Reads the file, REIN_* variables and the flags; loads the policy file and checks it as SIGHUP would \
            (it loads, is for this agent, and is valid for this build's AWS catalog); decodes the broker; reads the \
            collector token file. AWS and the collector are not contacted. Exit 0: a start would take it; \
            78: it would not, and why is said. Warnings (static broker keys, no fsync) go to standard error.
            """)

    @OptionGroup var options: SidecarConfigOptions

    func run() throws {
        let configuration: SidecarConfiguration
        do { configuration = try options.loadConfiguration() } catch { throw CommandFailure.configuration(error.description) }
        let summary: SidecarConfigCheck.Summary
        do { summary = try SidecarConfigCheck.run(configuration) } catch { throw CommandFailure.configuration(error.description) }
        print((["configuration OK" + (options.config.map { ": \($0)" } ?? "")] + summary.lines.map { "  " + $0 }).joined(separator: "\n"))
        for warning in summary.warnings { FileHandle.standardError.write(Data("rein: warning: \(warning)\n".utf8)) }
    }
}
