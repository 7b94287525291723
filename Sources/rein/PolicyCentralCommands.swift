import ArgumentParser
import Foundation
import ReinCollectorClient
import ReinPolicy

/// `rein policy push FILE`: a new central version of the file's agent policy.
struct PolicyPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Store a policy file as the agent's new version on the collector.",
        discussion: "The collector validates and lints it; error-level lint findings block the push unless --force-reason explains why.")

    @Argument(help: "The policy file (YAML or JSON).")
    var file: String
    @Option(name: .shortAndLong, help: "Why this version exists (stored in the history).")
    var message: String
    @Option(help: "Push despite error-level lint findings; the reason is stored with the version.")
    var forceReason: String?
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        let document = try PolicyFile.load(file)
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let client = try collector.client()
        do {
            let receipt = try client.pushPolicy(agentId: document.agent.id, .init(
                document: String(decoding: data, as: UTF8.self), message: message, forceReason: forceReason))
            print("pushed \(file) as version \(receipt.version) of agent \(receipt.agentId)")
        } catch {
            if error.status == 422 { PolicyCentral.printRejection(error.body, file: file) }
            throw CommandFailure.failed(error)
        }
    }
}

/// `rein policy list`: every agent's current central version.
struct PolicyListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the agents with a central policy and their current versions.")
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        do {
            let rows = try collector.client().listPolicies()
            PolicyCentral.table(rows, agentColumn: true)
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }
}

/// `rein policy show AGENT [--version N]`.
struct PolicyShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print an agent's central policy (current, or --version N).")
    @Argument(help: "The agent id.") var agent: String
    @Option(help: "A past version.") var version: Int?
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        do { print(try collector.client().policyDocument(agentId: agent, version: version), terminator: "") } catch let error as CollectorClientError {
            throw CommandFailure.failed(error)
        }
    }
}

/// `rein policy history AGENT`.
struct PolicyHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Every version of an agent's central policy: who, when and why.")
    @Argument(help: "The agent id.") var agent: String
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        do { PolicyCentral.table(try collector.client().policyHistory(agentId: agent), agentColumn: false) } catch let error as CollectorClientError {
            throw CommandFailure.failed(error)
        }
    }
}

/// `rein policy diff AGENT [--from N] [--to M | --file F]`.
struct PolicyDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changes between two central versions, or between the current version and a local file.")
    @Argument(help: "The agent id.") var agent: String
    @Option(help: "The older version (default: current).") var from: Int?
    @Option(help: "The newer version.") var to: Int?
    @Option(help: "Compare with this local file instead of a version.") var file: String?
    @OptionGroup var collector: CollectorOptions

    func validate() throws {
        if to != nil && file != nil { throw ValidationError("give --to VERSION or --file FILE, not both") }
    }

    func run() throws {
        let client = try collector.client()
        do {
            let old = try client.policyDocument(agentId: agent, version: from)
            let new: String
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                new = String(decoding: data, as: UTF8.self)
            } else if let to {
                new = try client.policyDocument(agentId: agent, version: to)
            } else {
                throw ValidationError("give --to VERSION or --file FILE")
            }
            let oldName = from.map { "\(agent) v\($0)" } ?? "\(agent) (current)"
            let newName = file ?? "\(agent) v\(to ?? 0)"
            let text = PolicyCentral.diff(old, new, oldName: oldName, newName: newName)
            print(text.isEmpty ? "no differences" : text, terminator: text.isEmpty ? "\n" : "")
            if !text.isEmpty { throw ExitCode(1) }
        } catch let error as CollectorClientError { throw CommandFailure.failed(error) }
    }
}

/// `rein policy rollback AGENT --to N`.
struct PolicyRollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Make a past version current again (as a new version).")
    @Argument(help: "The agent id.") var agent: String
    @Option(help: "The version to restore.") var to: Int
    @Option(name: .shortAndLong, help: "Why.") var message: String
    @Option(help: "Restore it despite error-level lint findings; the reason is stored with the new version.")
    var forceReason: String?
    @OptionGroup var collector: CollectorOptions

    func run() throws {
        let client = try collector.client()
        do {
            let receipt = try client.rollbackPolicy(agentId: agent, .init(version: to, message: message, forceReason: forceReason))
            print("rolled agent \(agent) back to version \(to) as version \(receipt.version)")
        } catch {
            if error.status == 422 { PolicyCentral.printRejection(error.body, file: "\(agent) v\(to)") }
            throw CommandFailure.failed(error)
        }
    }
}

/// Output helpers shared by the central policy commands.
enum PolicyCentral {
    static func table(_ rows: [CollectorMessages.PolicyVersionInfo], agentColumn: Bool) {
        var lines: [[String]] = [(agentColumn ? ["AGENT"] : []) + ["VERSION", "TIME", "AUTHOR", "MESSAGE"]]
        for r in rows {
            var msg = r.message ?? ""
            if let f = r.forceReason { msg += " (forced: \(f))" }
            lines.append((agentColumn ? [r.agentId ?? "?"] : []) + [String(r.version), r.time ?? "", r.author ?? "", msg])
        }
        TextTable.print(lines)
    }

    /// A unified-style line diff (no context hunks: policies are short).
    static func diff(_ old: String, _ new: String, oldName: String, newName: String) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let changes = b.difference(from: a)
        guard !changes.isEmpty else { return "" }
        var removed = Set<Int>(), inserted = Set<Int>()
        for c in changes {
            switch c {
            case .remove(let o, _, _): removed.insert(o)
            case .insert(let o, _, _): inserted.insert(o)
            }
        }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) { out += "-\(a[i])\n"; i += 1; continue }
            if j < b.count, inserted.contains(j) { out += "+\(b[j])\n"; j += 1; continue }
            if i < a.count { out += " \(a[i])\n" }
            i += 1
            j += 1
        }
        return out
    }

    /// Prints the lint findings of a refused push, compiler style.
    static func printRejection(_ body: [UInt8], file: String) {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let findings = obj["findings"] as? [[String: Any]] else { return }
        for f in findings {
            let line = (f["line"] as? Int).map { ":\($0)" } ?? ""
            let sev = f["severity"] as? String ?? "error"
            let rule = f["rule"] as? String ?? ""
            let msg = f["message"] as? String ?? ""
            FileHandle.standardError.write(Data("\(file)\(line): \(sev) \(rule): \(msg)\n".utf8))
        }
    }
}
