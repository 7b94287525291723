import ArgumentParser
import Foundation
import ReinCollectorClient

/// `rein fleet`: every sidecar the collector knows, and whether it is silent.
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "List sidecars: agent, policy version, spool depth, last seen, chain status; silent ones are flagged.")
    @Flag(help: "Print the collector's JSON.") var json = false
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        do {
            let body = try collector.client().getJSON("/v1/fleet")
            if json { FileHandle.standardOutput.write(Data(body + [10])); return }
            let rows = (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? []
            var table = [["SIDECAR", "AGENT", "TASK", "POLICY", "SPOOL", "LAST SEEN", "SEQ", "FINDINGS", "STATUS"]]
            for r in rows {
                func s(_ k: String) -> String { r[k].flatMap { $0 is NSNull ? nil : "\($0)" } ?? "" }
                table.append([s("sidecar_id"), s("agent_id"), s("task_id"), s("policy_version"), s("spool_depth"),
                              s("last_seen"), s("stored_sequence"), s("findings"), s("status")])
            }
            TextTable.print(table)
            if rows.contains(where: { ($0["status"] as? String) == "silent" }) { throw ExitCode(1) }
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }
}
