import ArgumentParser
import Foundation
import ReinSigV4

struct SigV4Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigv4",
        abstract: "Work with AWS Signature Version 4.",
        subcommands: [SigV4ExplainCommand.self])
}

/// `rein sigv4 explain`: why does this captured request (not) verify?
struct SigV4ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Verify a raw HTTP request and show the canonical request, string to sign and signatures.",
        discussion: """
            Reads one raw HTTP/1.1 request, exactly as sent on the wire, from FILE or \
            standard input. The secret comes from AWS_SECRET_ACCESS_KEY (and \
            AWS_SESSION_TOKEN), never from arguments; if AWS_ACCESS_KEY_ID is set the \
            request must be signed with it. Exits 0 when the request verifies, 1 when \
            it does not.

            With --resign, a valid request is re-signed with REIN_BROKER_ACCESS_KEY_ID, \
            REIN_BROKER_SECRET_ACCESS_KEY and REIN_BROKER_SESSION_TOKEN (optional) and \
            the resulting raw request is written to standard output.
            """)

    @Argument(help: "File holding the raw request (default: standard input).")
    var file: String?

    @Option(help: "Verify as of this time (ISO 8601, e.g. 2015-08-30T12:36:00Z) instead of now: for captured requests.")
    var at: String?

    @Option(help: "Permitted clock skew in seconds.")
    var maxSkew: Int64 = 900

    @Flag(help: "Print JSON (valid, error, canonical_request, string_to_sign, signature, ...).")
    var json = false

    @Flag(help: "Re-sign the request with the broker credentials from REIN_BROKER_* and print it.")
    var resign = false

    @Option(help: "With --resign: the upstream Host header to sign for.")
    var host: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        guard let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw ValidationError("Set AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if used): the secret is never taken from arguments")
        }
        var now = Int64(Date().timeIntervalSince1970)
        if let at {
            guard let t = AmzDate.parseISO8601(at) else {
                throw ValidationError("--at must be an ISO 8601 UTC time such as 2015-08-30T12:36:00Z or 20150830T123600Z")
            }
            now = t
        }
        var broker: AWSCredentials?
        if resign {
            guard let akid = env["REIN_BROKER_ACCESS_KEY_ID"], let sk = env["REIN_BROKER_SECRET_ACCESS_KEY"], !akid.isEmpty, !sk.isEmpty else {
                throw ValidationError("--resign needs REIN_BROKER_ACCESS_KEY_ID and REIN_BROKER_SECRET_ACCESS_KEY")
            }
            broker = AWSCredentials(accessKeyId: akid, secretAccessKey: sk, sessionToken: env["REIN_BROKER_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        let bytes = try InputFile.read(file)
        let raw: RawHTTPRequest
        do {
            raw = try RawHTTPRequest.parse(bytes)
        } catch {
            throw ValidationError(error.description)
        }
        let explainer = SigV4Explainer(
            secret: secret, sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
            expectedAccessKeyId: env["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }, allowedClockSkew: maxSkew)
        let explanation = explainer.explain(raw, now: now, resignWith: broker, resignHost: host)
        if json {
            print(try JSONOutput.encode(explanation))
        } else if resign, let resigned = explanation.resignedRequestBytes {
            FileHandle.standardOutput.write(Data(resigned))
        } else {
            print(explanation.text)
        }
        if !explanation.valid {
            if resign && !json { FileHandle.standardError.write(Data((explanation.text + "\n").utf8)) }
            throw ExitCode(1)
        }
    }
}

/// Reads a whole file, or standard input for nil or "-".
enum InputFile {
    static func read(_ path: String?) throws -> [UInt8] {
        if let path, path != "-" {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path)")
            }
            return Array(data)
        }
        return Array(FileHandle.standardInput.readDataToEndOfFile())
    }
}
