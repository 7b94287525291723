import Foundation
import ReinCrypto
import ReinHolds
import Testing
@testable import ReinSidecar

/// The `holds:` section, and the shipped example.
struct HoldsConfigurationTests {
    static let digest = String(repeating: "ab", count: 32)

    @Test func defaultsAndEveryKey() throws {
        let d = try SidecarConfigurationLoader.load(yaml: "state_dir: /tmp/x", environment: [:], overrides: [:])
        #expect(d.holds.wait == .seconds(20) && d.holds.expire == .seconds(900) && d.holds.tokens.isEmpty && !d.holds.allowOwnerApproval)
        let yaml = """
            holds:
              wait: 5s
              expire: 2m
              max_grant: 30m
              default_grant: 10m
              allow_owner_approval: true
              webhook_url: https://hooks.example/x
              console_url: https://admin.example
              database: /data/holds.sqlite
              tokens:
                - {name: alice, roles: [approver], sha256: \(Self.digest), owns_agents: [agent-a]}
                - {name: carol, roles: [auditor], sha256: \(Self.digest.uppercased())}
            """
        let c = try SidecarConfigurationLoader.load(yaml: yaml, environment: [:], overrides: [:])
        #expect(c.holds.wait == .seconds(5) && c.holds.expire == .seconds(120) && c.holds.maxGrant == .seconds(1800))
        #expect(c.holds.defaultGrant == .seconds(600) && c.holds.allowOwnerApproval)
        #expect(c.holds.webhookURL == "https://hooks.example/x" && c.holds.consoleURL == "https://admin.example")
        #expect(c.holds.databasePath == "/data/holds.sqlite")
        #expect(c.holds.tokens == [HoldTokenBook.Entry(name: "alice", roles: [.approver], sha256: Self.digest, ownsAgents: ["agent-a"]),
                                   HoldTokenBook.Entry(name: "carol", roles: [.auditor], sha256: Self.digest)])
        // The book turns a bearer token into an actor only when its digest matches.
        let book = HoldTokenBook([HoldTokenBook.Entry(name: "alice", roles: [.approver], sha256: SHA256.hash("secret-token").hex)])
        #expect(book.actor(authorization: "Bearer secret-token")?.capabilities == [.decide, .read])
        #expect(book.actor(authorization: "Bearer other") == nil && book.actor(authorization: nil) == nil)
    }

    @Test(arguments: [
        ("holds:\n  tokens:\n    - {name: a, roles: [approver], sha256: plain-token}", "holds.tokens[0].sha256"),
        ("holds:\n  tokens:\n    - {name: a, roles: [sidecar], sha256: \(digest)}", "holds.tokens[0].roles"),
        ("holds:\n  tokens:\n    - {name: a, sha256: \(digest)}", "holds.tokens[0].roles"),
        ("holds:\n  tokens:\n    - {name: a, roles: [approver], sha256: \(digest), agents: [x]}", "holds.tokens[0].agents"),
        ("holds:\n  wait: soon", "holds.wait"),
        ("holds:\n  color: red", "holds.color"),
    ])
    func badHoldsSettingsAreNamed(yaml: String, key: String) {
        do {
            _ = try SidecarConfigurationLoader.load(yaml: yaml, environment: [:], overrides: [:])
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key, "\(error)")
        }
    }

    @Test func theShippedExampleLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Deploy/examples/sidecar.yaml")
        let c = try SidecarConfigurationLoader.load(yaml: try String(contentsOf: url, encoding: .utf8), environment: [:], overrides: [:])
        #expect(c.holds.wait == .seconds(20) && c.holds.expire == .seconds(900) && c.holds.maxGrant == .seconds(3600))
    }
}

