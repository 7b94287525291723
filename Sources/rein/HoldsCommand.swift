import ArgumentParser
import Foundation
import ReinCollectorClient
import ReinHolds
import ReinPolicy

/// `rein holds list|show|approve|deny`: the approvers' CLI. It talks to the
/// collector, or to a standalone sidecar's admin listener (same API), with
/// an approver's (or auditor's, for reading) token.
struct HoldsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holds",
        abstract: "List, show, approve and deny held AWS calls (against the collector, or a standalone sidecar's admin listener).",
        discussion: """
            --collector is the collector's URL, or a standalone sidecar's admin listener (http://127.0.0.1:7475);
            the token must have the approver role to decide, approver or auditor to read.
            """,
        subcommands: [List.self, Show.self, Approve.self, Deny.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List holds, newest first.")
        @Flag(help: "Only holds waiting for a decision.") var pending = false
        @Option(help: "Only this agent's holds.") var agent: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var collector: CollectorOptions

        func run() throws {
            do {
                let holds = try collector.client().listHolds(status: pending ? .pending : nil, agentId: agent)
                if json { return JSONOutput.print(holds) }
                var table = [["ID", "STATUS", "AGENT", "TASK", "ACTION", "RESOURCE", "CREATED", "EXPIRES / DECIDED", "BY"]]
                for h in holds {
                    let resource = h.grants.first?.resources.first ?? "-"
                    table.append([h.id, h.status.rawValue, h.agentId, h.taskId, h.grants.map(\.action).joined(separator: ","),
                                  resource, HoldsCommand.time(h.createdMs),
                                  h.status == .pending ? HoldsCommand.time(h.expiresMs) : h.decidedMs.map(HoldsCommand.time) ?? "-",
                                  h.approver ?? "-"])
                }
                HoldsCommand.printTable(table)
            } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one hold: the request summary, the decision and any grant.")
        @Argument(help: "The hold id (h-…).") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var collector: CollectorOptions

        func run() throws {
            do {
                guard let h = try collector.client().hold(id: id) else {
                    throw CommandFailure.failed(CollectorClientError(kind: .notFound, status: 404, message: "no hold \(id)"))
                }
                if json { return JSONOutput.print(h) }
                var lines: [(String, String)] = [
                    ("hold", h.id), ("status", h.status.rawValue), ("agent", h.agentId), ("task", h.taskId),
                    ("sidecar", h.sidecarId), ("operation", h.operation),
                    ("request", "\(h.summary.method) \(h.summary.host ?? "")\(h.summary.path)"
                        + (h.summary.queryKeys.isEmpty ? "" : " (query: \(h.summary.queryKeys.joined(separator: ", ")))")),
                ]
                for g in h.grants { lines.append(("grant", "\(g.action) on \(g.resources.isEmpty ? "*" : g.resources.joined(separator: ", "))")) }
                lines.append(("statement", h.statementId ?? "-"))
                if let why = h.reasonHeld { lines.append(("held because", why)) }
                lines.append(("created", HoldsCommand.time(h.createdMs)))
                lines.append(("expires", HoldsCommand.time(h.expiresMs)))
                if let decided = h.decidedMs { lines.append(("decided", HoldsCommand.time(decided))) }
                if let by = h.approver { lines.append(("by", by)) }
                if let reason = h.decisionReason { lines.append(("reason", reason)) }
                if let scope = h.scope { lines.append(("scope", scope.rawValue)) }
                if let grant = h.grantId { lines.append(("scoped grant", "\(grant) until \(h.grantExpiresMs.map(HoldsCommand.time) ?? "?")")) }
                if let used = h.usedMs { lines.append(("used", HoldsCommand.time(used))) }
                let width = lines.map(\.0.count).max() ?? 0
                for (k, v) in lines { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + SafeText.escape(v)) }
            } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a hold: this request only (default), or this action on these resources for a while.")
        @Argument(help: "The hold id (h-…).") var id: String
        @Option(help: "request (one-shot, the default) or action-resource (a temporary grant).") var scope: String?
        @Option(name: .customLong("for"), help: "How long an action-resource grant lasts (e.g. 15m; capped by holds.max_grant). Implies --scope action-resource.")
        var duration: String?
        @Option(help: "Why (recorded with your identity).") var reason: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var collector: CollectorOptions

        func run() throws {
            var seconds: Double?
            if let duration {
                guard let s = DurationText.seconds(duration), s > 0 else { throw ValidationError("--for '\(duration)' is not a duration such as 90s, 15m or 1h") }
                seconds = Double(s)
            }
            let scopeText = scope ?? (duration == nil ? "request" : "action-resource")
            guard let approval = ApprovalScope(rawValue: scopeText) else { throw ValidationError("--scope must be request or action-resource") }
            if approval == .request, duration != nil { throw ValidationError("--for applies to --scope action-resource; a request approval is one-shot") }
            do {
                let h = try collector.client().approveHold(id: id, scope: approval, forSeconds: seconds, reason: reason)
                if json { return JSONOutput.print(h) }
                if let earlier = HoldsCommand.decidedEarlier(h, reason: reason) { return print("\(h.id) was already approved \(earlier); nothing changed") }
                if let grant = h.grantId {
                    print("approved \(h.id) (\(SafeText.escape(h.agentId)): \(h.grants.map(\.action).joined(separator: ","))); grant \(grant) until \(h.grantExpiresMs.map(HoldsCommand.time) ?? "?")")
                } else {
                    print("approved \(h.id) (\(SafeText.escape(h.agentId)): \(h.grants.map(\.action).joined(separator: ","))), this request only")
                }
            } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
        }
    }

    struct Deny: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deny a hold; the agent gets AccessDenied with your reason.")
        @Argument(help: "The hold id (h-…).") var id: String
        @Option(help: "Why (the agent sees it).") var reason: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var collector: CollectorOptions

        func run() throws {
            do {
                let h = try collector.client().denyHold(id: id, reason: reason)
                if json { return JSONOutput.print(h) }
                if let earlier = HoldsCommand.decidedEarlier(h, reason: reason) { return print("\(h.id) was already denied \(earlier); nothing changed") }
                print("denied \(h.id) (\(SafeText.escape(h.agentId)): \(h.grants.map(\.action).joined(separator: ",")))")
            } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
        }
    }

    static func time(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func printTable(_ table: [[String]]) { TextTable.print(table) }

    /// "by bob at … (reason: …)" when the decision that stands is not this
    /// command's (a repeated approve or deny is idempotent: the first
    /// decision stands, and the command says so instead of claiming its
    /// own). Told by the reason, which is this command's own, not by comparing
    /// two machines' clocks.
    static func decidedEarlier(_ h: Hold, reason: String) -> String? {
        guard let decided = h.decidedMs, let stood = h.decisionReason, stood != reason else { return nil }
        return "by \(SafeText.escape(h.approver ?? "?")) at \(time(decided)) (reason: \(SafeText.escape(stood)))"
    }
}
