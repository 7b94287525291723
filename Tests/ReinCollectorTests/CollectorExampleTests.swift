import Foundation
import Testing
@testable import ReinCollector

/// The shipped example configuration must load as documented.
@Suite struct CollectorExampleTests {
    @Test func deployExampleLoadsWithEveryRole() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Deploy/examples/collector.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let config = try CollectorConfigurationLoader.load(yaml: text)
        #expect(config.tokens.count == 5)
        #expect(Set(config.tokens.flatMap(\.roles)) == Set(CollectorRole.allCases))
        #expect(config.tokens.first { $0.roles.contains(.sidecar) }?.agents == ["billing-agent"])
        #expect(config.retention == 400 * 86_400)
        #expect(config.silentAfter == 120)
        #expect(config.holds.expire == .seconds(900) && config.holds.maxGrant == .seconds(3600))
        #expect(config.holds.allowOwnerApproval == false && config.holdsWebhookURL == nil)
    }
}
