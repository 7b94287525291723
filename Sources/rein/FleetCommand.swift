import ArgumentParser
import Foundation
import ReinCollectorClient

/// `rein fleet`: the sidecars the collector knows (`list`, the default), and
/// `retire` for one that is gone for good.
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "List sidecars and their status (the default), or retire one that is gone.",
        subcommands: [FleetListCommand.self, FleetRetireCommand.self],
        defaultSubcommand: FleetListCommand.self)
}

/// `rein fleet [list]`: every serving sidecar, and how it is.
///
/// Exit status, for scripts and probes: 0 when every sidecar is `ok` or
/// has only past `findings`; 2 when one is `silent`, `not-ready` or
/// `clock-skew`; 1 when the collector could not be asked (the same with
/// `--json`). Sidecars that ended (`stopped` with everything shipped, or
/// `retired`) are left out unless `--all`: after each rollout a
/// Kubernetes fleet has a new set of pod names, and the old ones would
/// otherwise fill the list.
struct FleetListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List sidecars: agent, policy version, spool depth, last seen, chain status; silent ones are flagged.",
        discussion: "STATUS is silent, not-ready, clock-skew, findings or ok; with --all also stopped or retired. "
            + "--status and --agent narrow the list on the collector (e.g. --status silent,not-ready). "
            + "Exits 2 when a listed sidecar is silent, not-ready or clock-skew, 1 when the collector cannot be asked.")
    @Flag(help: "Print the collector's JSON.") var json = false
    @Flag(help: "Also list sidecars that stopped with everything shipped, or were retired.") var all = false
    @Option(help: ArgumentHelp("Only sidecars with these statuses (comma-separated).", valueName: "status,…")) var status: String?
    @Option(help: "Only the sidecars of this agent.") var agent: String?
    @OptionGroup var collector: CollectorOptions

    static let ended: Set<String> = ["stopped", "retired"]

    func run() throws {
        do {
            // Filtered by the collector (a fleet keeps its ended sidecars until retention); again here for
            // a collector older than the filter, which answers every sidecar.
            var query: [(String, String)] = []
            if let status { query.append(("status", status)) }
            if let agent { query.append(("agent", agent)) }
            if !all, status == nil { query.append(("ended", "false")) }
            let response = try collector.client().exchange("GET", "/v1/fleet", query: query, timeout: 120)
            let answered = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [[String: Any]] ?? []
            let wanted = status.map { Set($0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }) }
            let rows = answered.filter { row in
                let s = row["status"] as? String ?? ""
                return (wanted.map { $0.contains(s) } ?? (all || !Self.ended.contains(s))) && (agent.map { $0 == row["agent_id"] as? String } ?? true)
            }
            let total = response.header("X-Rein-Fleet-Total").flatMap(Int.init) ?? answered.count
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
                // Re-encoded (keys sorted), filtered or not, so that --all changes only which entries appear.
                let out = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys, .withoutEscapingSlashes])
                FileHandle.standardOutput.write(out + Data([10]))
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
            let hidden = total - rows.count
            if hidden > 0 {
                let which = status == nil && agent == nil ? "stopped or retired sidecars not shown; --all lists them" : "other sidecars not shown"
                FileHandle.standardError.write(Data("(\(hidden) \(which))\n".utf8))
            }
            if unhealthy { throw ExitCode(2) }
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }

    /// The sidecar's clock against the collector's: `+0.0s`, `-95.2s`, blank when unknown.
    static func skew(_ value: Any?) -> String {
        guard let seconds = value as? Double else { return "" }
        return String(format: "%+.1fs", seconds)
    }
}

/// `rein fleet retire SIDECAR --reason TEXT` (admin): a sidecar that
/// stopped or went silent is gone for good, so it is no longer flagged or
/// alerted. The reason is kept in the collector's audit chain.
struct FleetRetireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Retire a sidecar that stopped or went silent and will not come back (admin).",
        discussion: "Records still on its disk are then an accepted loss; the sidecar-retired event says who accepted it and why. "
            + "A retired sidecar that reports again is serving again.")
    @Argument(help: "The sidecar id (see rein fleet).") var sidecar: String
    @Option(help: "Why it is gone, e.g. 'node lost in zone outage, INC-1234'.") var reason: String
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        do {
            let body = try collector.client().retireSidecar(sidecar, reason: reason)
            let entry = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            let spool = (entry["spool_depth"] as? Int).map { ", \($0) records spooled at its last heartbeat" } ?? ""
            print("retired sidecar \(SafeText.escape(sidecar)) (agent \(SafeText.escape(entry["agent_id"] as? String ?? "-"))\(spool))")
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }
}
