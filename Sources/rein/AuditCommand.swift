import ArgumentParser
import Foundation
import ReinAudit
import ReinCollectorClient

/// `rein audit …`: the collector's audit trail from the command line.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Query, follow, export and verify the audit trail.",
        subcommands: [AuditQueryCommand.self, AuditTailCommand.self, AuditExportCommand.self, AuditVerifyCommand.self,
                      AuditFindingsCommand.self])
}

/// The record filters every query command shares (docs/collector-api.md).
struct AuditFilters: ParsableArguments {
    @Option(help: "Only this sidecar.") var sidecar: String?
    @Option(help: "Only this agent.") var agent: String?
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Only calls needing this IAM action, e.g. s3:GetObject.") var action: String?
    @Option(help: "Only calls on resources starting with this ARN prefix.") var resourcePrefix: String?
    @Option(help: ArgumentHelp("Only this decision: \(AuditRecord.decisions.joined(separator: ", ")).")) var decision: String?
    @Option(help: ArgumentHelp("Only this event type: \(AuditRecord.events.joined(separator: ", ")).")) var event: String?
    @Option(help: "From this time: RFC 3339, or a duration back from now such as 24h or 7d.") var since: String?
    @Option(help: "Until this time (RFC 3339 or a duration back from now).") var until: String?

    var query: [(String, String)] {
        let pairs: [(String, String?)] = [("sidecar", sidecar), ("agent", agent), ("task", task), ("action", action),
                                          ("resource_prefix", resourcePrefix), ("decision", decision), ("event", event),
                                          ("since", since), ("until", until)]
        return pairs.compactMap { k, v in v.map { (k, $0) } }
    }
}

enum AuditOutput: String, ExpressibleByArgument, CaseIterable {
    case table, jsonl, ocsf, cloudtrail
}

/// Prints records for a person: one aligned line each.
enum AuditTable {
    static let header = ["TIME", "DECISION", "AGENT", "TASK", "OPERATION", "RESOURCE", "STATUS", "SIDECAR#SEQ"]

    static func row(_ r: AuditRecord) -> [String] {
        let resource = r.grants.first?.resources.first ?? ""
        let status = r.upstreamStatus.map(String.init) ?? r.errorCode ?? ""
        let op = r.operation.map { "\(r.service ?? "?") \($0)" } ?? r.event  // not "s3:X": that reads as an IAM action
        return [r.time, r.decision, r.agentId ?? "", r.taskId ?? "", op, resource, status, "\(r.sidecarId)#\(r.sequence)"]
    }

    static func print(_ rows: [[String]]) { TextTable.print(rows) }

    static func records(_ body: [UInt8]) -> [AuditRecord] {
        body.split(separator: UInt8(ascii: "\n")).compactMap { try? ChainedLine(parsing: $0).record }
    }
}

/// `rein audit query`: one page of matching records.
struct AuditQueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "query", abstract: "Print the records matching the filters.")
    @OptionGroup var filters: AuditFilters
    @Option(help: "At most this many records (1 to 10000; `rein audit export` writes them all).") var limit: Int = 100
    @Option(help: "table, jsonl, ocsf or cloudtrail.") var output: AuditOutput = .table
    @OptionGroup var collector: CollectorOptions

    func validate() throws {
        guard (1...10_000).contains(limit) else {
            throw ValidationError("--limit is 1 to 10000 (one page); use `rein audit export` for more")
        }
    }

    func run() throws {
        var q = filters.query + [("limit", String(limit))]
        if output != .table { q.append(("format", output.rawValue)) }
        do {
            let page = try collector.client().records(q)
            if output == .table {
                AuditTable.print([AuditTable.header] + AuditTable.records(page.body).map(AuditTable.row))
            } else {
                FileHandle.standardOutput.write(Data(page.body))
            }
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }
}

/// `rein audit tail`: new records as they arrive (long-poll).
struct AuditTailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Follow new records as sidecars ship them (Ctrl-C stops).")
    @OptionGroup var filters: AuditFilters
    @Option(help: "table or jsonl.") var output: AuditOutput = .table
    @Option(help: "Stop after this many seconds (default: follow until interrupted).") var forSeconds: Double?
    @OptionGroup var collector: CollectorOptions

    func validate() throws {
        guard output == .table || output == .jsonl else { throw ValidationError("--output is table or jsonl for tail") }
        if let forSeconds, !(forSeconds > 0) { throw ValidationError("--for-seconds must be above 0") }
    }

    func run() throws {
        let client = try collector.client(timeout: 90)
        var cursor: String?
        var base = filters.query
        if filters.since == nil { base.append(("since", "5m")) }
        // `since` says where to start, by record time; after that the cursor
        // (arrival order) follows, so a record that arrives late (a sidecar
        // catching up after an outage, a clock behind) is still shown.
        let following = base.filter { $0.0 != "since" }
        let end = forSeconds.map { Date().addingTimeInterval($0) }
        if output == .table { AuditTable.print([AuditTable.header]) }
        while end.map({ Date() < $0 }) ?? true {
            var q = (cursor == nil ? base : following) + [("limit", "1000")]
            if let cursor { q += [("after", cursor), ("wait", String(Int(min(25, max(1, end.map { $0.timeIntervalSinceNow } ?? 25)))))] }
            do {
                let page = try client.records(q)
                if output == .table {
                    let rows = AuditTable.records(page.body).map(AuditTable.row)
                    if !rows.isEmpty { AuditTable.print(rows) }
                } else {
                    FileHandle.standardOutput.write(Data(page.body))
                }
                cursor = page.nextCursor ?? cursor
            } catch {
                if !error.retryable { throw CommandFailure.failed(error) }
                FileHandle.standardError.write(Data("rein: \(error); retrying\n".utf8))
                Thread.sleep(forTimeInterval: 2)
            }
        }
    }
}

/// `rein audit export`: every matching record, page by page, to stdout or a file.
struct AuditExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export matching records as JSONL (chained, verifiable offline), OCSF (class 6003) or CloudTrail.")
    @OptionGroup var filters: AuditFilters
    @Option(help: "jsonl, ocsf or cloudtrail.") var format: AuditOutput = .jsonl
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var outputFile: String?
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        guard format != .table else { throw ValidationError("--format is jsonl, ocsf or cloudtrail") }
        let client = try collector.client(timeout: 120)
        let sink = try ExportSink(path: outputFile)
        do {
            try export(client: client, to: sink)
            try sink.commit()
        } catch {
            sink.discard()
            if let error = error as? CollectorClientError { throw CommandFailure.failed(error) }
            throw error
        }
    }

    /// Page by page, each written as it arrives: memory stays at one page
    /// however large the export.
    private func export(client: CollectorClient, to sink: ExportSink) throws {
        var cursor: String?
        var count = 0
        var firstEvent = true
        if format == .cloudtrail { try sink.write(Array(#"{"Records":["#.utf8)) }
        repeat {
            var q = filters.query + [("limit", "10000"), ("format", format.rawValue)]
            // The signed checkpoints ride along: `rein audit verify --file` checks their signatures.
            if format == .jsonl { q.append(("checkpoints", "true")) }
            if let cursor { q.append(("after", cursor)) }
            let page = try client.records(q)
            if format == .cloudtrail {
                guard let object = try? JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any],
                      let events = object["Records"] as? [Any] else {
                    throw CommandFailure.failed("the collector's CloudTrail page is not {\"Records\":[…]}")
                }
                if events.isEmpty { break }
                for e in events {
                    if !firstEvent { try sink.write([UInt8(ascii: ",")]) }
                    firstEvent = false
                    try sink.write(try AuditExport.jsonBytes(e))
                }
                count += events.count
            } else {
                let lines = page.body.split(separator: UInt8(ascii: "\n"))
                if lines.isEmpty { break }
                count += lines.count { !AuditCheckpoint.isCheckpointLine($0) }
                for l in lines { try sink.write(Array(l) + [UInt8(ascii: "\n")]) }
            }
            FileHandle.standardError.write(Data("rein: exported \(count) records\r".utf8))
            guard let next = page.nextCursor, next != cursor else { break }
            cursor = next
        } while true
        if format == .cloudtrail { try sink.write(Array("]}\n".utf8)) }
        FileHandle.standardError.write(Data("rein: exported \(count) records\n".utf8))
    }
}

/// `rein audit findings`: integrity findings the collector stored.
struct AuditFindingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "findings", abstract: "Print the integrity findings (gaps, edits, reorders, bad signatures).")
    @Option(help: "Only this sidecar.") var sidecar: String?
    @Option(help: "From this time (RFC 3339 or a duration such as 7d).") var since: String?
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        let q = [("sidecar", sidecar), ("since", since)].compactMap { k, v in v.map { (k, $0) } }
        do {
            var counts: [String: Int] = [:]
            var total = 0
            try collector.client().forEachFinding(q) { finding in
                // Findings quote what sidecars sent: escaped before they reach the terminal.
                print(SafeText.escape(finding.description))
                counts["\(finding.kind.rawValue) on \(SafeText.escape(finding.sidecarId))", default: 0] += 1
                total += 1
            }
            if total == 0 { print("no integrity findings"); return }
            let kinds = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            FileHandle.standardError.write(Data("rein: \(total) findings: \(kinds.joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }
}
