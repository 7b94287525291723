import ArgumentParser
import Foundation
import ReinCollectorClient

/// `rein report`: a framework-alignment report from the collector, for
/// compliance to pull from CI or cron.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Framework-alignment report (NIST AI RMF, OWASP Agentic, OWASP NHI, CSA MAESTRO) from the collector's audit trail.",
        discussion: """
            Statuses: evidenced, partial, gap, attestation-needed, not-applicable (Compliance/README.md).
            The same data and period give byte-identical JSON: give --since and --until as RFC 3339 times to pin the period.
            Needs a token with the auditor (or admin) role.
            """)

    @Option(help: "nist-ai-rmf, owasp-agentic, owasp-nhi, maestro, all, or a catalog id.") var framework = "all"
    @Option(help: "Start of the period: a duration before --until (30d, 24h) or an RFC 3339 time.") var since = "30d"
    @Option(help: "End of the period (RFC 3339; default now).") var until: String?
    @Option(help: "Only this agent.") var agent: String?
    @Option(help: "Only this task.") var task: String?
    @Option(help: "json, md, html, csv or oscal.") var format = "json"
    @Option(name: [.short, .customLong("output")], help: "Write to this file instead of standard output.") var output: String?
    @Flag(help: "Exit 3 when any control is a gap or the logs are not intact (for CI).") var failOnGap = false
    @OptionGroup var collector: CollectorOptions

    func validate() throws {
        guard ["json", "md", "html", "csv", "oscal"].contains(format) else { throw ValidationError("--format must be json, md, html, csv or oscal") }
    }

    func run() throws {
        var query: [(String, String)] = [("framework", framework), ("since", since), ("format", format)]
        if let until { query.append(("until", until)) }
        if let agent { query.append(("agent", agent)) }
        if let task { query.append(("task", task)) }
        let response: (body: [UInt8], integrity: String?)
        do {
            let r = try collector.client(timeout: 120).exchange("GET", "/v1/reports", query: query)
            response = (r.body, r.header("X-Rein-Report-Integrity"))
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(response.body)) else {
                throw ValidationError("cannot write \(output)")
            }
            FileHandle.standardError.write(Data("rein: wrote \(output) (\(response.body.count) bytes)\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(response.body))
        }
        if response.integrity == "broken" {
            FileHandle.standardError.write(Data("rein: WARNING: the audit logs under this report have integrity findings\n".utf8))
        }
        if failOnGap {
            // The JSON form tells; fetch it when another format was asked for.
            var json = response.body
            if format != "json" {
                var q = query.filter { $0.0 != "format" }
                q.append(("format", "json"))
                do { json = try collector.client(timeout: 120).exchange("GET", "/v1/reports", query: q).body } catch let error as CollectorClientError {
                    throw CommandFailure.failed(error)
                }
            }
            let object = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any] ?? [:]
            let gaps = (object["frameworks"] as? [[String: Any]] ?? []).reduce(0) { $0 + ((($1["status_counts"] as? [String: Any])?["gap"] as? Int) ?? 0) }
            let broken = ((object["integrity"] as? [String: Any])?["state"] as? String) == "broken"
            if gaps > 0 || broken {
                FileHandle.standardError.write(Data("rein: \(gaps) control(s) with gaps\(broken ? ", logs not intact" : "")\n".utf8))
                throw ExitCode(3)
            }
        }
    }
}
