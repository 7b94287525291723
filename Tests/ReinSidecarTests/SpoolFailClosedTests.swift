import Foundation
import Logging
import ReinAudit
import ReinCrypto
import ReinSigV4
import Testing
@testable import ReinSidecar
import ReinServiceKit
@testable import ReinStore

/// A started sidecar (127.0.0.1, port 0) with a tiny audit spool: when the
/// spool is full it answers 503, forwards nothing and is not ready, and it
/// recovers once the collector acknowledges records.
struct SpoolFailClosedTests {
    static let policy = """
        apiVersion: rein.dev/v1alpha1
        kind: TaskPolicy
        agent: {id: test-agent, owner: team@example.com}
        task: {id: t1, purpose: tests, notBefore: 2020-01-01T00:00:00Z, notAfter: 2099-01-01T00:00:00Z}
        mode: enforce
        statements:
          - id: read-orders
            effect: allow
            actions: [dynamodb:GetItem]
            resources: ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]
        """

    /// A signed DynamoDB GetItem, as an SDK sends it now.
    static func getItem(table: String, port: Int) -> [UInt8] {
        let body = #"{"TableName":"\#(table)","Key":{"id":{"S":"1"}}}"#
        var request = SignableRequest(method: "POST", target: "/", headers: [
            HTTPHeader("Host", "127.0.0.1:\(port)"), HTTPHeader("Content-Type", "application/x-amz-json-1.0"),
            HTTPHeader("X-Amz-Target", "DynamoDB_20120810.GetItem"), HTTPHeader("Content-Length", String(body.utf8.count)),
        ])
        _ = SigV4Signer().sign(&request, credentials: GateFixture.agent, region: "us-east-1", service: "dynamodb",
                               time: Int64(Date().timeIntervalSince1970), payloadHash: SHA256.hash(Array(body.utf8)).hex)
        var text = "POST / HTTP/1.1\r\n"
        for h in request.headers { text += "\(h.name): \(h.value)\r\n" }
        text += "Connection: close\r\n\r\n" + body
        return Array(text.utf8)
    }

    static func readyz(_ running: RunningSidecar) throws -> LoopbackHTTP.Answer {
        try probe(running, "/readyz")
    }

    static func probe(_ running: RunningSidecar, _ path: String) throws -> LoopbackHTTP.Answer {
        try LoopbackHTTP.exchange(port: running.bound.admin.port ?? 0, Array("GET \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n".utf8))
    }

    func launch(maxBytes: Int64, upstreamPort: Int, dir: String, cpuLatencyQoS: Bool = false) async throws -> RunningSidecar {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.policy.write(toFile: dir + "/policy.yaml", atomically: true, encoding: .utf8)
        var config = SidecarConfiguration()
        config.sidecarId = "sc-fail-closed"
        config.listen = ListenAddress(host: "127.0.0.1", port: 0)
        config.adminListen = ListenAddress(host: "127.0.0.1", port: 0)
        config.credentialsListen = nil
        config.stateDir = dir + "/state"
        config.policyFile = dir + "/policy.yaml"
        config.staticAgentKeys = [.init(accessKeyId: GateFixture.agent.accessKeyId, secretAccessKey: GateFixture.agent.secretAccessKey,
                                        sessionToken: GateFixture.agent.sessionToken)]
        config.upstreamEndpoint = "http://127.0.0.1:\(upstreamPort)"
        config.brokerYAML = "provider: static\nenv_prefix: REIN_TEST_BROKER_\n"
        config.auditSpoolMaxBytes = maxBytes
        config.auditFsync = false
        config.upstreamIdleTimeout = 1
        config.cpuLatencyQoS = cpuLatencyQoS
        let environment = ["REIN_TEST_BROKER_ACCESS_KEY_ID": GateFixture.broker.accessKeyId,
                           "REIN_TEST_BROKER_SECRET_ACCESS_KEY": GateFixture.broker.secretAccessKey]
        return try await SidecarLauncher.launch(config, environment: environment, logger: Logger(label: "test.sidecar"))
    }

    @Test func aFullSpoolRefusesWith503UntilSpaceReturns() async throws {
        let dir = NSTemporaryDirectory() + "rein-fail-closed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upstream = try SilentUpstream()

        // How big one denial's record is, with a roomy spool.
        let probe = try await launch(maxBytes: 1 << 20, upstreamPort: upstream.port, dir: dir + "/probe")
        let denied = try LoopbackHTTP.exchange(port: probe.bound.agent.port ?? 0, Self.getItem(table: "secrets", port: probe.bound.agent.port ?? 0))
        #expect(denied.status == 400 && denied.body.contains("AccessDenied"), "\(denied)")
        let recordBytes = probe.services.spool.stats.bytes
        await probe.shutdown()
        #expect(recordBytes > 300)

        // Room for one denial, not two (nor a denial and an intent).
        let running = try await launch(maxBytes: recordBytes + recordBytes / 2, upstreamPort: upstream.port, dir: dir + "/tiny")
        let port = running.bound.agent.port ?? 0
        let spool = running.services.spool
        #expect(try Self.readyz(running).status == 200)
        let first = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "secrets", port: port))
        #expect(first.body.contains("AccessDenied"), "\(first)")
        #expect(spool.stats.records == 1)

        // An allowed call whose intent does not fit: 503, and nothing reaches the upstream.
        let allowed = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "orders", port: port))
        #expect(allowed.status == 503, "\(allowed)")
        #expect(allowed.body.contains("ServiceUnavailable"))
        #expect(allowed.body.contains("Rein's audit spool is full (\(spool.stats.bytes) of \(spool.stats.maxBytes) bytes); it forwards nothing until space is freed (no collector is configured to ship it to)"))
        #expect(!upstream.wasContacted)
        #expect(spool.stats.full && spool.stats.records == 1 && spool.stats.intents == 0)
        let notReady = try Self.readyz(running)
        #expect(notReady.status == 503 && notReady.body.contains("audit spool is full"), "\(notReady)")

        // While full, even a denial is refused before any work.
        let second = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "secrets", port: port))
        #expect(second.status == 503 && second.body.contains("audit spool is full"), "\(second)")
        #expect(spool.stats.records == 1)

        // The collector acknowledges: space returns, and so does service.
        try spool.acknowledge(throughSequence: spool.stats.lastSequence)
        #expect(!spool.stats.full)
        #expect(try Self.readyz(running).status == 200)
        _ = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "orders", port: port)) // the upstream never answers: it times out
        #expect(upstream.wasContacted)
        let deadline = Date().addingTimeInterval(5)
        while spool.stats.records < 1, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(spool.stats.records == 1 && spool.stats.intents == 0 && spool.stats.lastSequence == 2)

        let metrics = String(decoding: running.services.metrics.exposition(), as: UTF8.self)
        #expect(metrics.contains("rein_audit_write_failures_total{kind=\"full\"}"))
        await running.shutdown()

        // What was recorded is a whole chain in the readable copy as well.
        let copy = try String(contentsOfFile: dir + "/tiny/state/audit.jsonl", encoding: .utf8)
        let lines = copy.split(separator: "\n").map { Array($0.utf8) + [10] }
        var verifier = ChainVerifier(sidecarId: "sc-fail-closed")
        let findings = try lines.flatMap { verifier.admit(try ChainedLine(parsing: $0)) }
        #expect(lines.count == 2 && findings.isEmpty, "\(findings)")
    }

    /// A full disk under the spool (SQLite's `max_page_count` refuses the
    /// write exactly as a full disk does): 503 naming the disk, not ready but
    /// alive (a restart would not help), and serving again by itself.
    @Test func aFullDiskUnderTheSpoolRefusesCallsUntilSpaceIsFreedWithNoRestart() async throws {
        let dir = NSTemporaryDirectory() + "rein-disk-full-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upstream = try SilentUpstream()
        let running = try await launch(maxBytes: 1 << 20, upstreamPort: upstream.port, dir: dir)
        let port = running.bound.agent.port ?? 0
        let spool = running.services.spool
        try spool.capSizeForTesting(true)
        var refused: LoopbackHTTP.Answer?
        for _ in 0..<100 {
            let answer = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "secrets", port: port))
            if answer.status == 503 {
                refused = answer
                break
            }
        }
        let answer = try #require(refused, "the capped spool never refused a record")
        #expect(answer.body.contains("the disk under its audit spool is full"), "\(answer)")
        #expect(spool.stats.diskFull)
        let notReady = try Self.readyz(running)
        #expect(notReady.status == 503 && notReady.body.contains("the disk under the audit spool is full"), "\(notReady)")
        #expect(try Self.probe(running, "/healthz").status == 200)
        // An allowed call: its intent may still fit where a record did not
        // (another table's page, here). Then it goes upstream (which never
        // answers: a timeout), and its outcome is held to be sealed once
        // there is room; otherwise it is refused before anything goes out.
        let allowed = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "orders", port: port))
        #expect(allowed.status == 503, "\(allowed)")
        if upstream.wasContacted {
            let deadline = Date().addingTimeInterval(5)
            while spool.stats.heldOutcomes == 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(spool.stats.heldOutcomes == 1 && spool.stats.intents == 1)
        } else {
            #expect(allowed.body.contains("the disk under its audit spool is full"), "\(allowed)")
            #expect(spool.stats.intents == 0)
        }

        try spool.capSizeForTesting(false)
        let denied = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "secrets", port: port))
        #expect(denied.status == 400 && denied.body.contains("AccessDenied"), "\(denied)")
        #expect(!spool.stats.diskFull && spool.stats.heldOutcomes == 0 && spool.stats.intents == 0)
        #expect(try Self.readyz(running).status == 200)
        let metrics = String(decoding: running.services.metrics.exposition(), as: UTF8.self)
        #expect(metrics.contains("rein_audit_write_failures_total{kind=\"disk_full\"}"))
        await running.shutdown()
    }

    /// A holds database that lost a commit refuses writes until a restart
    /// writes it anew: /healthz asks for that restart, /readyz says why.
    @Test func aHoldsDatabaseFaultFailsBothProbes() async throws {
        let dir = NSTemporaryDirectory() + "rein-holds-fault-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upstream = try SilentUpstream()
        let running = try await launch(maxBytes: 1 << 20, upstreamPort: upstream.port, dir: dir)
        #expect(try Self.probe(running, "/healthz").status == 200)
        running.services.holdsFault = { "a commit to holds.sqlite failed: Input/output error" }
        let health = try Self.probe(running, "/healthz")
        #expect(health.status == 503 && health.body.contains("the holds database refuses writes until the sidecar restarts"), "\(health)")
        let ready = try Self.readyz(running)
        #expect(ready.status == 503 && ready.body.contains("holds database refuses writes") && ready.body.contains("Input/output error"),
                "\(ready)")
        await running.shutdown()
    }

    @Test func anAllowedCallIsForwardedOnlyAfterItsIntentAndCompletesIt() async throws {
        let dir = NSTemporaryDirectory() + "rein-intent-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Nothing listens on this port: the upstream refuses the connection.
        let closedPort = try { () throws -> Int in let u = try SilentUpstream(); return u.port }()
        let running = try await launch(maxBytes: 1 << 20, upstreamPort: closedPort, dir: dir)
        let port = running.bound.agent.port ?? 0
        let answer = try LoopbackHTTP.exchange(port: port, Self.getItem(table: "orders", port: port))
        #expect(answer.status == 503 && answer.body.contains("could not reach the AWS endpoint"), "\(answer)")
        await running.shutdown()

        let copy = try String(contentsOfFile: dir + "/state/audit.jsonl", encoding: .utf8)
        let records = try copy.split(separator: "\n").map { try ChainedLine(parsing: Array($0.utf8)).record }
        #expect(records.count == 1)
        #expect(records.first?.decision == "allow" && records.first?.forwarded == true)
        #expect(records.first?.errorCode?.hasPrefix("Upstream") == true)
        #expect(running.services.spool.stats.intents == 0)
    }
}
