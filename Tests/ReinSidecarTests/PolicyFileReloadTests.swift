import Foundation
import ReinServiceKit
import Testing
@testable import ReinSidecar

/// SIGHUP reads `policy_file` again (``PolicyFileReload``): a valid file
/// decides the next call and leaves a `policy-change` event in the chain;
/// anything else changes nothing.
struct PolicyFileReloadTests {
    static let invoicesOnly = SpoolFailClosedTests.policy.replacingOccurrences(of: "table/orders", with: "table/invoices")

    /// A launched sidecar on `SpoolFailClosedTests.policy` in a fresh
    /// directory, shut down however `body` ends.
    func withSidecar(_ body: (RunningSidecar, String) async throws -> Void) async throws {
        let dir = NSTemporaryDirectory() + "rein-policy-reload-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upstream = try SilentUpstream()
        let running = try await SpoolFailClosedTests().launch(maxBytes: 1 << 20, upstreamPort: upstream.port, dir: dir)
        do { try await body(running, dir) } catch {
            await running.shutdown()
            throw error
        }
        await running.shutdown()
    }

    func metrics(_ running: RunningSidecar) throws -> String {
        try LoopbackHTTP.exchange(port: running.bound.admin.port ?? 0,
                                  Array("GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n".utf8)).body
    }

    func getItem(_ running: RunningSidecar, table: String) throws -> LoopbackHTTP.Answer {
        let port = running.bound.agent.port ?? 0
        return try LoopbackHTTP.exchange(port: port, SpoolFailClosedTests.getItem(table: table, port: port))
    }

    @Test func aValidFileDecidesTheNextCallAndIsRecorded() async throws {
        try await withSidecar { running, dir in
            let reload = try #require(running.policyReload)
            #expect(reload.reload() == .unchanged)
            let before = try getItem(running, table: "invoices")
            #expect(before.status == 400 && before.body.contains("AccessDenied"), "\(before)")

            try Self.invoicesOnly.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
            guard case .applied(let sha) = reload.reload() else { Issue.record("the new file was not applied"); return }
            #expect(sha.count == 64)
            // The grant for orders is gone: refused now, where it was forwarded before.
            let after = try getItem(running, table: "orders")
            #expect(after.status == 400 && after.body.contains("dynamodb:GetItem"), "\(after)")
            #expect(reload.reload() == .unchanged)
            let scraped = try metrics(running)
            #expect(scraped.contains("rein_policy_file_reloads_applied 1") && scraped.contains("rein_policy_file_refused 0"), "\(scraped)")

            // The change is in the chain before any call it decided.
            let mirror = try String(contentsOfFile: dir + "/state/audit.jsonl", encoding: .utf8)
            let lines = mirror.split(separator: "\n").map(String.init)
            let change = try #require(lines.firstIndex { $0.contains(#""event":"policy-change""#) })
            #expect(lines[change].contains(#""via":"policy-file""#) && lines[change].contains("sha256 \(sha)"))
            let ordersDenied = try #require(lines.lastIndex { $0.contains("table/orders") })
            #expect(change < ordersDenied)
        }
    }

    @Test(arguments: [
        ("kind: [", "does not load"),
        (SpoolFailClosedTests.policy.replacingOccurrences(of: "id: test-agent", with: "id: other-agent"), "for agent other-agent"),
        (SpoolFailClosedTests.policy.replacingOccurrences(of: "dynamodb:GetItem", with: "dynamodb:GetItems"), "invalid here"),
    ])
    func aFileThatCannotApplyChangesNothing(text: String, reason: String) async throws {
        try await withSidecar { running, dir in
            let reload = try #require(running.policyReload)
            let records = running.services.spool.stats.records
            try text.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
            guard case .refused(let why) = reload.reload() else { Issue.record("a file that cannot apply was applied"); return }
            #expect(why.contains(reason), "\(why)")
            #expect(running.services.gate.policy.current.document.statements.first?.resources == ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"])
            #expect(running.services.spool.stats.records == records, "nothing recorded: nothing changed")
            let scraped = try metrics(running)
            #expect(scraped.contains("rein_policy_file_refused 1") && scraped.contains("rein_policy_file_reloads_applied 0"), "\(scraped)")
            try? FileManager.default.removeItem(atPath: dir + "/policy.yaml")
            guard case .refused(let missing) = reload.reload() else { Issue.record("a missing file was applied"); return }
            #expect(missing.contains("cannot read it"))
        }
    }

    /// `policy_reload_interval`: a changed file (a ConfigMap update) applies
    /// with no signal; a file that cannot apply is skipped until it changes.
    @Test func aChangedFileAppliesWithoutASignal() async throws {
        try await withSidecar { running, dir in
            let reload = try #require(running.policyReload)
            #expect(reload.reloadIfChanged() == nil, "nothing changed since the start")
            reload.watch(every: .milliseconds(50))
            func resources() -> [String] { running.services.gate.policy.current.document.statements.first?.resources ?? [] }
            func waitFor(_ condition: () -> Bool) async throws {
                let deadline = Date().addingTimeInterval(10)
                while !condition() && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            }
            let records = running.services.spool.stats.records
            // A file that cannot apply: skipped, and not retried at every check.
            try "kind: [".write(toFile: dir + "/policy.yaml.new", atomically: false, encoding: .utf8)
            #expect(rename(dir + "/policy.yaml.new", dir + "/policy.yaml") == 0)
            try await waitFor { reload.isRefusedNow }
            #expect(reload.isRefusedNow, "the check read the broken file")
            try await Task.sleep(for: .milliseconds(200))
            #expect(resources() == ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"])
            #expect(running.services.spool.stats.records == records)
            #expect(reload.reloadIfChanged() == nil, "the broken file was read once, when it changed")

            try Self.invoicesOnly.write(toFile: dir + "/policy.yaml.new", atomically: false, encoding: .utf8)
            #expect(rename(dir + "/policy.yaml.new", dir + "/policy.yaml") == 0)
            try await waitFor { resources() == ["arn:aws:dynamodb:us-east-1:123456789012:table/invoices"] }
            #expect(resources() == ["arn:aws:dynamodb:us-east-1:123456789012:table/invoices"])
            #expect(running.services.spool.stats.records == records + 1, "one policy-change event")
        }
    }

    @Test func theCheckIntervalIsAKeyOfItsOwn() throws {
        #expect(try SidecarConfigurationLoader.load(yaml: nil, environment: [:], overrides: [:]).policyReloadInterval == .seconds(10))
        #expect(try SidecarConfigurationLoader.load(yaml: "policy_reload_interval: off", environment: [:], overrides: [:]).policyReloadInterval == nil)
        #expect(try SidecarConfigurationLoader.load(yaml: "policy_reload_interval: 500ms", environment: [:], overrides: [:]).policyReloadInterval
                == .milliseconds(500))
        let error = #expect(throws: ConfigurationError.self) {
            try SidecarConfigurationLoader.load(yaml: "policy_reload_interval: 0s", environment: [:], overrides: [:])
        }
        #expect(error?.description.contains("policy_reload_interval") == true)
    }
}
