import ArgumentParser
import Foundation
import ReinTLS

/// `rein ca`: the sidecar's certificate authority for forward-proxy mode.
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Manage the CA the sidecar signs its forward-proxy TLS certificates with.",
        subcommands: [Export.self])

    /// `rein ca export`: prints the CA certificate, for the agent's `AWS_CA_BUNDLE`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print the CA certificate (PEM) that agents must trust.",
            discussion: """
                The CA lives in <state-dir>/ca/ (ca.pem and ca.key). It is created if it \
                does not exist yet, exactly as the sidecar would on first start, so the \
                bundle can be handed to the agent before the sidecar runs:
                  rein ca export > rein-ca.pem && export AWS_CA_BUNDLE=$PWD/rein-ca.pem
                """)

        @Option(help: "Rein's state directory (env: REIN_STATE_DIR; default: ./.rein).")
        var stateDir: String?

        func run() throws {
            let stateDirectory = CertificateAuthority.stateDirectory(
                explicit: stateDir, environment: ProcessInfo.processInfo.environment)
            let authority: CertificateAuthority
            do {
                authority = try CertificateAuthority.loadOrCreate(
                    directory: CertificateAuthority.directory(inStateDirectory: stateDirectory))
            } catch {
                FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
            FileHandle.standardOutput.write(Data(authority.certificatePEM.utf8))
        }
    }
}
