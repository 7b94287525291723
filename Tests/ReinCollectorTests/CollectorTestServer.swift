import Foundation
import Logging
import NIOPosix
import ReinAudit
import ReinCatalog
import ReinCollector
import ReinCompliance
import ReinCrypto
import ReinHolds
import ReinStore
import ReinUpstream
import Synchronization
import ReinServiceKit

/// A real collector on 127.0.0.1, port 0, with a temporary database, the
/// tokens below and an adjustable clock; requests go over real sockets.
final class CollectorTestServer: Sendable {
    /// Token text by name.
    static let tokens: [String: String] = [
        "alice": "tok-admin-alice-0123456789",
        "carol": "tok-auditor-carol-0123456789",
        "bob": "tok-approver-bob-0123456789",
        "sidecar-a": "tok-sidecar-a-0123456789",
        "sidecar-other": "tok-sidecar-other-0123456789",
        "sidecar-ab": "tok-sidecar-ab-0123456789",
        "sidecar-web": "tok-sidecar-web-0123456789",
        "prometheus": "tok-metrics-prometheus-0123456789",
    ]

    static let configuredTokens: [CollectorToken] = [
        CollectorToken(name: "alice", roles: [.admin], sha256: CollectorAuthenticator.hash(token: tokens["alice"]!)),
        CollectorToken(name: "carol", roles: [.auditor], sha256: CollectorAuthenticator.hash(token: tokens["carol"]!)),
        CollectorToken(name: "bob", roles: [.approver], sha256: CollectorAuthenticator.hash(token: tokens["bob"]!),
                       ownsAgents: ["agent-a"]),
        CollectorToken(name: "sidecar-a", roles: [.sidecar], sha256: CollectorAuthenticator.hash(token: tokens["sidecar-a"]!),
                       agents: ["agent-a"]),
        CollectorToken(name: "sidecar-other", roles: [.sidecar], sha256: CollectorAuthenticator.hash(token: tokens["sidecar-other"]!),
                       agents: ["agent-other"]),
        CollectorToken(name: "sidecar-ab", roles: [.sidecar], sha256: CollectorAuthenticator.hash(token: tokens["sidecar-ab"]!),
                       agents: ["agent-a", "agent-b"]),
        CollectorToken(name: "sidecar-web", roles: [.sidecar], sha256: CollectorAuthenticator.hash(token: tokens["sidecar-web"]!),
                       agents: ["agent-a"], sidecarIds: [SidecarIdPattern("web-*")]),
        CollectorToken(name: "prometheus", roles: [.metrics], sha256: CollectorAuthenticator.hash(token: tokens["prometheus"]!)),
    ]

    static let catalog: ServiceCatalog = {
        do { return try ServiceCatalog.bundled() } catch { fatalError("the bundled AWS catalog does not load: \(error)") }
    }()

    /// The repository's framework catalogs (`Compliance/`), for `/v1/reports`.
    static let complianceCatalogs: [ComplianceCatalog] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        do { return try ComplianceCatalogLoader.loadAll(directory: root.appendingPathComponent("Compliance").path) } catch {
            fatalError("the repository's Compliance/ catalogs do not load: \(error)")
        }
    }()

    let dir: String
    let server: CollectorServer
    let url: String
    let clock: ClockBox
    /// The hold ledger, when started with one.
    let ledger: SQLiteHoldLedger?
    var services: CollectorServices { server.services }

    private init(dir: String, server: CollectorServer, url: String, clock: ClockBox, ledger: SQLiteHoldLedger?) {
        self.dir = dir
        self.server = server
        self.url = url
        self.clock = clock
        self.ledger = ledger
    }

    static func start(silentAfter: Int64 = 120, maxBatchBytes: Int = 64 << 20, bodyBudget: Int = 256 << 20,
                      holds: Bool = false) async throws -> CollectorTestServer {
        let dir = NSTemporaryDirectory() + "rein-collector-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = CollectorConfiguration()
        config.listen = ListenAddress(host: "127.0.0.1", port: 0)
        config.stateDir = dir
        config.tokens = configuredTokens
        config.silentAfter = silentAfter
        config.maxBatchBytes = maxBatchBytes
        config.maxBufferedBodyBytes = bodyBudget
        let store = try SQLiteCollectorStore(path: config.resolvedDatabase)
        let logger = Logger(label: "test.collector")
        let box = ClockBox(Date())
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let ledger = holds ? try SQLiteHoldLedger(path: config.holdsDatabase, settings: HoldSettings()) : nil
        let services = CollectorServices(configuration: config, store: store, trail: try CollectorAuditTrail(store: store, logger: logger),
                                         policyGate: PolicyGate(catalog: catalog), threadPool: pool, logger: logger,
                                         holds: ledger.map { HoldAPI(ledger: $0, settings: HoldSettings()) },
                                         complianceCatalogs: complianceCatalogs,
                                         canonicalAction: { catalog.canonicalAction($0) ?? $0 }, now: { box.now })
        let server = CollectorServer(services: services, eventLoopThreads: 1)
        let address = try await server.start()
        return CollectorTestServer(dir: dir, server: server, url: "http://127.0.0.1:\(address.port ?? 0)", clock: box, ledger: ledger)
    }

    func stop() async {
        await server.shutdown(grace: .seconds(2))
        ledger?.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func advance(seconds: Double) {
        clock.clock.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// One request with `token`'s bearer token (nil: none), off the cooperative pool.
    func call(_ method: String, _ path: String, as token: String? = nil, body: [UInt8] = [],
              headers: [(String, String)] = [], timeout: Double = 30) async throws -> HTTPClientResponse {
        var all = headers.map { (name: $0.0, value: $0.1) }
        if let token { all.append((name: "Authorization", value: "Bearer \(Self.tokens[token] ?? token)")) }
        let request = HTTPClientRequest(method: method, url: url + path, headers: all, body: body, timeout: timeout)
        return try await offPool { try HTTPClient().send(request) }
    }

    func json(_ method: String, _ path: String, as token: String?, _ object: [String: Any?]) async throws -> HTTPClientResponse {
        let body = try JSONSerialization.data(withJSONObject: object.mapValues { $0 ?? NSNull() })
        return try await call(method, path, as: token, body: Array(body), headers: [("Content-Type", "application/json")])
    }

    /// POSTs a gzip batch for `sidecarId`.
    func ship(_ lines: [[UInt8]], sidecarId: String, as token: String = "sidecar-a") async throws -> HTTPClientResponse {
        let body = lines.flatMap { $0.last == UInt8(ascii: "\n") ? $0 : $0 + [10] }
        return try await call("POST", "/v1/audit/batches", as: token, body: try Gzip.compress(body),
                              headers: [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip"),
                                        ("X-Rein-Sidecar-Id", sidecarId)])
    }

    /// Every stored record matching `query` (auditor), following cursors.
    func records(_ query: String = "") async throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        var after = "0"
        while true {
            let r = try await call("GET", "/v1/audit/records?limit=10000&after=\(after)" + (query.isEmpty ? "" : "&" + query), as: "carol")
            guard r.status == 200 else { throw TestFailure("records: \(r.status) \(r.bodyText)") }
            let lines = r.bodyText.split(separator: "\n")
            if lines.isEmpty { return out }
            out += try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
            guard let next = r.header("X-Rein-Next-Cursor"), next != after else { return out }
            after = next
        }
    }
}

/// Lets the services' clock closure read the test's adjustable clock.
final class ClockBox: Sendable {
    let clock: Mutex<Date>
    init(_ start: Date) { clock = Mutex(start) }
    var now: Date { clock.withLock { $0 } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension HTTPClientResponse {
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
}

/// A sidecar's chain for HTTP tests.
struct ScriptedChain {
    let sidecarId: String
    let agentId: String
    let key: Ed25519PrivateKey
    var chain = AuditChain()

    init(sidecarId: String, agentId: String = "agent-a") throws {
        self.sidecarId = sidecarId
        self.agentId = agentId
        key = try Ed25519PrivateKey()
    }

    mutating func seal(_ count: Int, edit: (inout AuditRecord) -> Void = { _ in }) throws -> [[UInt8]] {
        try (0..<count).map { _ in
            var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(Date()), sidecarId: sidecarId,
                                via: "endpoint", decision: "allow")
            r.agentId = agentId
            r.taskId = "task-1"
            r.service = "s3"
            r.operation = "GetObject"
            r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::reports/\(chain.lastSequence + 1).csv"])]
            r.forwarded = true
            edit(&r)
            return try chain.seal(&r).line
        }
    }

    func checkpoint() throws -> [UInt8] {
        try AuditCheckpoint.sign(sidecarId: sidecarId, sequence: chain.lastSequence, hash: chain.lastHash,
                                 time: AuditRecord.timestamp(Date()), key: key).jsonLine()
    }

    var registration: [String: Any?] {
        ["sidecar_id": sidecarId, "agent_id": agentId, "task_id": "task-1", "public_key": key.publicKey.description, "version": "test"]
    }
}

/// A valid policy for `agent`, reading `bucket`.
func testPolicy(agent: String = "agent-a", bucket: String = "reports", actions: String = "[s3:GetObject]",
                resource: String? = nil) -> String {
    """
    apiVersion: rein.dev/v1alpha1
    kind: TaskPolicy
    agent: {id: \(agent), owner: owner@example.com}
    task: {id: task-1, purpose: collector tests, notBefore: 2026-01-01T00:00:00Z, notAfter: 2027-12-31T00:00:00Z}
    mode: enforce
    statements:
      - id: read-reports
        effect: allow
        actions: \(actions)
        resources: ["\(resource ?? "arn:aws:s3:::\(bucket)/*")"]

    """
}

/// Runs `body` against a fresh collector and stops it afterwards, whatever happens.
func withCollector(silentAfter: Int64 = 120, maxBatchBytes: Int = 64 << 20, bodyBudget: Int = 256 << 20, holds: Bool = false,
                   _ body: (CollectorTestServer) async throws -> Void) async throws {
    let server = try await CollectorTestServer.start(silentAfter: silentAfter, maxBatchBytes: maxBatchBytes, bodyBudget: bodyBudget,
                                                     holds: holds)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// Runs blocking work (a libcurl call, a shipper draining) on a thread of
/// its own. Why: the collector under test answers on Swift's cooperative
/// pool, one thread per core; a test blocking one of those threads while it
/// waits for that collector can starve it until the call times out (two
/// cores, the whole suite running at once).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}
