import Foundation
import Logging
import ReinAudit
@testable import ReinCollectorClient
import ReinCrypto
import ReinStore
import Testing

/// The shipper between a real spool and a real collector on 127.0.0.1.
@Suite struct AuditShipperTests {
    static func spool(_ dir: String, sidecarId: String, key: Ed25519PrivateKey) throws -> AuditSpool {
        try AuditSpool(configuration: AuditSpoolConfiguration(
            path: dir + "/spool.db", sidecarId: sidecarId, signingKey: key, fullSync: false, maxBytes: 64 << 20,
            dropWhenFull: false, checkpointEveryRecords: 10, checkpointInterval: .seconds(3600)))
    }

    /// A fresh directory for one test's spool (the caller removes it).
    static func scratchDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "rein-shipper-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func record(_ i: Int, sidecarId: String) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: "2026-11-29T00:00:00.000Z", sidecarId: sidecarId,
                            via: "endpoint", decision: "allow")
        r.agentId = "agent-a"
        r.taskId = "task-1"
        r.operation = "GetObject"
        r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::b/k\(i)"])]
        return r
    }

    @Test func shipsEverythingOnceWithCheckpointsAndEmptiesTheSpool() async throws {
        let server = try await CollectorTestServer.start()
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = try Ed25519PrivateKey()
        let spool = try Self.spool(dir, sidecarId: "sc-ship", key: key)
        for i in 1...25 { try spool.append(Self.record(i, sidecarId: "sc-ship")) }
        // A short timeout: a request stalled by a loaded machine is retried rather than waited out.
        let client = try CollectorClient(baseURL: server.url, token: CollectorTestServer.tokens["sidecar-a"]!, timeout: 5)
        let shipper = AuditShipper(
            client: client, sidecarId: "sc-ship", spool: spool, settings: .init(maxRecords: 10, interval: 0.05),
            registration: .init(sidecarId: "sc-ship", agentId: "agent-a", taskId: "task-1", publicKey: key.publicKey.description, version: "test"),
            heartbeat: nil, logger: Logger(label: "test.shipper"))
        shipper.start()
        let deadline = Date().addingTimeInterval(60)
        while spool.stats.records > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await offPool { shipper.stop(drain: true, deadline: 10) }
        #expect(spool.stats.records == 0, "last error: \(shipper.status.lastError ?? "none")")
        #expect(shipper.status.registered)
        #expect(shipper.status.shippedRecords == 25)
        #expect(shipper.status.shippedBatches >= 3) // capped at 10 records a batch
        let stored = try await server.records("sidecar=sc-ship")
        #expect(stored.count == 25)
        #expect(Set(stored.compactMap { $0["sequence"] as? Int }) == Set(1...25))
        // The two checkpoints (at 10 and 20) verified against the registered key.
        let verify = try await server.call("GET", "/v1/audit/verify?sidecar=sc-ship", as: "carol")
        #expect(verify.object["ok"] as? Bool == true)
        #expect((verify.object["checkpoints"] as? Int ?? 0) >= 2)
        spool.close()
        await server.stop()
    }

    /// Stopping drains the spool, then the last heartbeat says so: the
    /// collector shows the sidecar `stopped`, not silent once it is gone.
    @Test func aStopDrainsAndSaysSoInItsLastHeartbeat() async throws {
        let server = try await CollectorTestServer.start()
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = try Ed25519PrivateKey()
        let spool = try Self.spool(dir, sidecarId: "sc-bye", key: key)
        for i in 1...5 { try spool.append(Self.record(i, sidecarId: "sc-bye")) }
        let client = try CollectorClient(baseURL: server.url, token: CollectorTestServer.tokens["sidecar-a"]!, timeout: 5)
        let shipper = AuditShipper(
            client: client, sidecarId: "sc-bye", spool: spool, settings: .init(maxRecords: 10, interval: 30, heartbeatInterval: 3600),
            registration: .init(sidecarId: "sc-bye", agentId: "agent-a", taskId: "task-1", publicKey: key.publicKey.description, version: "test"),
            heartbeat: {
                let stats = spool.stats
                return .init(sidecarId: "sc-bye", agentId: "agent-a", taskId: "task-1", policyVersion: nil, spoolDepth: stats.records,
                             spoolBytes: stats.bytes, lastSequence: stats.lastSequence, ready: true)
            },
            logger: Logger(label: "test.shipper"))
        shipper.start()
        let deadline = Date().addingTimeInterval(60)
        while !shipper.status.registered || spool.stats.records > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        // Written after the thread's round: only the stop's drain ships them.
        for i in 6...8 { try spool.append(Self.record(i, sidecarId: "sc-bye")) }
        var fleet = try await server.call("GET", "/v1/fleet", as: "carol").array
        #expect(fleet.first?["status"] as? String == "ok")
        try await offPool { shipper.stop(drain: true, deadline: 10) }
        #expect(spool.stats.records == 0)
        #expect(try await server.records("sidecar=sc-bye").count == 8)
        fleet = try await server.call("GET", "/v1/fleet", as: "carol").array
        #expect(fleet.first?["status"] as? String == "stopped", "\(fleet)")
        #expect(fleet.first?["last_sequence"] as? Int == 8)
        spool.close()
        await server.stop()
    }

    /// A sidecar whose key the collector refuses ships nothing, not even in
    /// its last drain at shutdown, and says why in the collector's words.
    @Test func aRefusedRegistrationShipsNothingEvenAtShutdown() async throws {
        let server = try await CollectorTestServer.start()
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = try CollectorClient(baseURL: server.url, token: CollectorTestServer.tokens["sidecar-a"]!, timeout: 5)
        // Another key is pinned for sc-pinned first (patiently: the whole suite runs at once on 2 cores).
        var patient = client
        patient.timeout = 60
        patient.smallCallTimeout = 60
        let otherKey = try Ed25519PrivateKey().publicKey.description
        _ = try await offPool { [patient] in
            try patient.register(.init(sidecarId: "sc-pinned", agentId: "agent-a", taskId: "task-1", publicKey: otherKey, version: "test"))
        }
        let key = try Ed25519PrivateKey()
        let spool = try Self.spool(dir, sidecarId: "sc-pinned", key: key)
        for i in 1...3 { try spool.append(Self.record(i, sidecarId: "sc-pinned")) }
        let shipper = AuditShipper(
            client: client, sidecarId: "sc-pinned", spool: spool, settings: .init(interval: 0.05, backoffBase: 0.05, backoffMax: 0.2),
            registration: .init(sidecarId: "sc-pinned", agentId: "agent-a", taskId: "task-1", publicKey: key.publicKey.description,
                                version: "test"),
            heartbeat: nil, logger: Logger(label: "test.shipper"))
        shipper.start()
        // Until the collector's refusal is seen (a timed-out attempt on a loaded machine is retried).
        let deadline = Date().addingTimeInterval(60)
        while !(shipper.status.lastError?.contains("KeyMismatch") ?? false), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await offPool { shipper.stop(drain: true, deadline: 2) }
        #expect(!shipper.status.registered)
        #expect(shipper.status.lastError?.contains("KeyMismatch") == true, "\(shipper.status.lastError ?? "none")")
        #expect(shipper.status.lastError?.contains("is pinned to another signing key") == true)
        #expect(spool.stats.records == 3)
        #expect(try await server.records("sidecar=sc-pinned").isEmpty)
        spool.close()
        await server.stop()
    }

    @Test func anUnreachableCollectorKeepsRecordsSpooledAndBacksOff() async throws {
        let dir = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = try Self.spool(dir, sidecarId: "sc-down", key: try Ed25519PrivateKey())
        for i in 1...5 { try spool.append(Self.record(i, sidecarId: "sc-down")) }
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        let client = try CollectorClient(baseURL: "http://127.0.0.1:9", token: "tok-nobody", timeout: 2)
        let shipper = AuditShipper(client: client, sidecarId: "sc-down", spool: spool,
                                   settings: .init(interval: 0.05, backoffBase: 0.05, backoffMax: 0.2),
                                   registration: nil, heartbeat: nil, logger: Logger(label: "test.shipper"))
        shipper.start()
        let deadline = Date().addingTimeInterval(10)
        while shipper.status.consecutiveFailures < 3, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await offPool { shipper.stop(drain: true, deadline: 1) }
        #expect(shipper.status.consecutiveFailures >= 3)
        #expect(shipper.status.lastError?.contains("unreachable") == true)
        #expect(!(shipper.status.lastError ?? "").contains("tok-nobody"))
        #expect(spool.stats.records == 5) // nothing deleted without an acknowledgement
        spool.close()
    }

    /// Records leave the spool only on the collector's acknowledgement of
    /// the batch: a generic or short 200 (a proxy, a cache, another
    /// sidecar's answer) keeps them, and so keeps a full spool refusing calls.
    @Test func onlyAnAcknowledgementOfTheBatchDeletesIt() {
        let batch = Shipment(lines: [], recordCount: 6, throughSequence: 16)
        func problem(_ id: String? = "sc-1", _ accepted: Int = 6, _ duplicates: Int = 0, _ through: Int64? = 16) -> String? {
            AuditShipper.acknowledgementProblem(.init(sidecarId: id, accepted: accepted, duplicates: duplicates, checkpoints: 1,
                                                      findings: 0, throughSequence: through), batch: batch, sidecarId: "sc-1")
        }
        #expect(problem() == nil)
        #expect(problem("sc-1", 2, 4) == nil) // a retry: some were stored before
        #expect(problem("sc-1", 6, 0, 12) == nil) // edited lines (lower sequences), every record taken
        #expect(problem("sc-1", 4, 0, 16) == nil) // two lines kept as conflict evidence
        #expect(problem("sc-1", 1, 0, 11)?.contains("took 1 of 6 records") == true)
        #expect(problem("sc-1", 0, 0, nil) != nil)
        #expect(problem("sc-2") != nil)
        #expect(problem(nil) == nil) // a collector from before receipts named the sidecar
        #expect(problem(nil, 0, 0, nil) != nil) // a generic 200: no through_sequence
        #expect(problem("sc-1", -1, 0, -5) != nil)
        #expect(problem("sc-1", 7, 0) != nil)
    }

    @Test func backoffGrowsWithJitterAndIsCapped() {
        for attempt in 1...12 {
            let d = AuditShipper.backoffDelay(attempt: attempt, base: 0.5, max: 30)
            let ceiling = min(30, 0.5 * pow(2, Double(attempt - 1)))
            #expect(d >= ceiling / 2 && d <= ceiling)
        }
    }
}
