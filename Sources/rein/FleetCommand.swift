import ArgumentParser
import Foundation
import ReinCollectorClient

/// `rein fleet`: every sidecar the collector knows, and how it is.
///
/// Exit status, for scripts and probes: 0 when every sidecar is `ok` or
/// has only past `findings`; 2 when one is `silent`, `not-ready` or
/// `clock-skew`; 1 when
/// the collector could not be asked (the same with `--json`).
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "List sidecars: agent, policy version, spool depth, last seen, chain status; silent ones are flagged.",
        discussion: "STATUS is silent, not-ready, clock-skew, findings or ok. Exits 2 when a sidecar is silent, not-ready or clock-skew, 1 when the collector cannot be asked.")
    @Flag(help: "Print the collector's JSON.") var json = false
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        do {
            let body = try collector.client().getJSON("/v1/fleet")
            let rows = (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? []
            let flagged = rows.filter { ["silent", "not-ready", "clock-skew"].contains($0["status"] as? String ?? "") }
            let unhealthy = !flagged.isEmpty
            defer {
                // Said on standard error, so that a large fleet's table (or JSON)
                // need not be searched to learn why the exit status is 2.
                if unhealthy {
                    let names = flagged.prefix(20).map { "\(SafeText.escape($0["sidecar_id"] as? String ?? "?")) (\($0["status"] as? String ?? "?"))" }
                    let more = flagged.count > 20 ? " and \(flagged.count - 20) more" : ""
                    FileHandle.standardError.write(Data("rein: \(flagged.count) of \(rows.count) sidecars need attention: \(names.joined(separator: ", "))\(more)\n".utf8))
                }
            }
            if json {
                FileHandle.standardOutput.write(Data(body + [10]))
                if unhealthy { throw ExitCode(2) }
                return
            }
            var table = [["SIDECAR", "AGENT", "TASK", "POLICY", "SPOOL", "LAST SEEN", "CLOCK", "SEQ", "FINDINGS", "STATUS"]]
            for r in rows {
                func s(_ k: String) -> String { r[k].flatMap { $0 is NSNull ? nil : "\($0)" } ?? "" }
                table.append([s("sidecar_id"), s("agent_id"), s("task_id"), s("policy_version"), s("spool_depth"),
                              s("last_seen"), Self.skew(r["clock_skew_s"]), s("stored_sequence"), s("findings"), s("status")])
            }
            TextTable.print(table)
            if unhealthy { throw ExitCode(2) }
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }

    /// The sidecar's clock against the collector's: `+0.0s`, `-95.2s`, blank when unknown.
    static func skew(_ value: Any?) -> String {
        guard let seconds = value as? Double else { return "" }
        return String(format: "%+.1fs", seconds)
    }
}
