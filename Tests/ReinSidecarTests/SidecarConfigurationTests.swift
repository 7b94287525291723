import Testing
@testable import ReinSidecar
import ReinServiceKit

struct SidecarConfigurationTests {
    @Test func fileThenEnvironmentThenFlagsInIncreasingPrecedence() throws {
        let yaml = """
            listen: 127.0.0.1:9000
            mode: observe
            upstream:
              endpoint: http://127.0.0.1:5000
            limits:
              max_inspected_body: 2MiB
              clock_skew: 5m
            allowed_clients: [10.0.0.0/8, 127.0.0.1/32]
            broker:
              provider: static
            """
        let c = try SidecarConfigurationLoader.load(yaml: yaml, environment: ["REIN_LISTEN": "127.0.0.1:9100", "REIN_MODE": "learn"],
                                                    overrides: ["mode": "enforce"])
        #expect(c.listen == ListenAddress(host: "127.0.0.1", port: 9100))
        #expect(c.mode == .enforce)
        #expect(c.upstreamEndpoint == "http://127.0.0.1:5000")
        #expect(c.maxInspectedBody == 2 << 20 && c.clockSkew == 300)
        #expect(c.allowedClients.count == 2 && c.allowedClients[0].contains("10.1.2.3") && !c.allowedClients[0].contains("11.0.0.1"))
        #expect(c.brokerYAML?.contains("provider: static") == true)
    }

    @Test(arguments: [
        ("lisen: 127.0.0.1:1", "lisen"),
        ("mode: permissive", "mode"),
        ("upstream:\n  endpoint: http://127.0.0.1:5000/path", "upstream.endpoint"),
        ("limits:\n  clock_skew: soon", "limits.clock_skew"),
        ("allowed_clients: [not-a-cidr]", "allowed_clients"),
        ("account_id: 12", "account_id"),
        ("agent_credentials:\n  ttl: 1m", "agent_credentials.ttl"),
    ])
    func badInputNamesTheKey(yaml: String, key: String) {
        do {
            _ = try SidecarConfigurationLoader.load(yaml: yaml, environment: [:], overrides: [:])
            Issue.record("expected an error for \(key)")
        } catch {
            #expect(error.key == key)
        }
    }

    @Test func cidrMatching() throws {
        let v6 = try #require(CIDRBlock("::1/128"))
        #expect(v6.contains("::1") && !v6.contains("::2"))
        let v4 = try #require(CIDRBlock("127.0.0.0/8"))
        #expect(v4.contains("127.9.9.9") && v4.contains("::ffff:127.0.0.1") && !v4.contains("128.0.0.1"))
        #expect(CIDRBlock("300.0.0.0/8") == nil && CIDRBlock("10.0.0.0/33") == nil)
    }
}
