import Foundation
import Testing
@testable import ReinCollector
@testable import ReinStore

/// `GET /metrics` (``CollectorMetrics``): what a monitoring system alerts
/// on, counted from real requests against a running collector, for a
/// `metrics` token that can read nothing else.
@Suite struct CollectorMetricsTests {
    /// `name{labels}` → value, from the Prometheus text format.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    @Test func metricsCountIngestFindingsRefusalsAndTheFleet() async throws {
        try await withCollector(silentAfter: 120) { server in
            var chain = try ScriptedChain(sidecarId: "sc-1")
            #expect(try await server.ship(try chain.seal(3), sidecarId: "sc-1").status == 200)
            _ = try chain.seal(1)  // never shipped: the next batch opens with a gap
            #expect(try await server.ship(try chain.seal(2), sidecarId: "sc-1").status == 200)
            #expect(try await server.call("GET", "/v1/audit/records", as: "tok-nobody").status == 401)
            // The metrics token reads metrics and nothing else.
            #expect(try await server.call("GET", "/v1/audit/records", as: "prometheus").status == 403)
            #expect(try await server.call("GET", "/metrics", as: "sidecar-a").status == 403)

            let r = try await server.call("GET", "/metrics", as: "prometheus")
            #expect(r.status == 200)
            #expect(r.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let m = Self.samples(r.bodyText)
            #expect(m["rein_collector_ingested_records_total"] == 5)
            #expect(m["rein_collector_ingested_batches_total"] == 2)
            #expect(m["rein_collector_integrity_findings_total{kind=\"gap\"}"] == 1)
            #expect(m["rein_collector_access_denied_total{code=\"401\"}"] == 1)
            #expect(m["rein_collector_access_denied_total{code=\"403\"}"] == 2)
            #expect(m["rein_collector_requests_total{route=\"/v1/audit/batches\",method=\"POST\",code=\"200\"}"] == 2)
            #expect(m["rein_collector_requests_total{route=\"/v1/audit/records\",method=\"GET\",code=\"403\"}"] == 1)
            #expect(m["rein_collector_sidecars_count{status=\"findings\"}"] == 1)
            #expect(m["rein_collector_sidecars_count{status=\"silent\"}"] == 0)
            #expect((m["rein_collector_latest_cursor_count"] ?? 0) >= 5)
            #expect((m["rein_collector_database_bytes"] ?? 0) > 0)
            #expect(m["rein_collector_build_info{version=\"dev\"}"] == 1)
            #expect(m["rein_collector_store_sync_failed"] == 0)
            #expect(m["rein_collector_store_disk_full"] == 0)
            #expect((m["rein_collector_store_disk_free_bytes"] ?? 0) > 0)
            // No sidecar or agent id is ever a label.
            #expect(!r.bodyText.contains("sc-1") && !r.bodyText.contains("agent-a"))

            // Read at each scrape: once nothing is heard for silent_after, the sidecar counts as silent.
            server.advance(seconds: 200)
            let later = Self.samples(try await server.call("GET", "/metrics", as: "carol").bodyText)
            #expect(later["rein_collector_sidecars_count{status=\"silent\"}"] == 1)
            #expect(later["rein_collector_sidecars_count{status=\"findings\"}"] == 0)
            #expect(later["rein_collector_requests_total{route=\"/metrics\",method=\"GET\",code=\"200\"}"] == 1)
        }
    }

    /// A store that lost a sync of its log (``WALFileSync/fault``) refuses
    /// every write with 503 until the collector is restarted, and says so on
    /// both probes and in the metrics.
    @Test func aStoreThatLostASyncFailsItsProbesAndRefusesWrites() async throws {
        try await withCollector { server in
            var chain = try ScriptedChain(sidecarId: "sc-1")
            #expect(try await server.ship(try chain.seal(2), sidecarId: "sc-1").status == 200)
            #expect(try await server.call("GET", "/healthz", as: nil).status == 200)
            let store = try #require(server.services.store as? SQLiteCollectorStore)
            store.durability.latch(WALFileSync.Failure(path: store.path, operation: "sync the WAL", reason: "Input/output error"))

            let refused = try await server.ship(try chain.seal(2), sidecarId: "sc-1")
            #expect(refused.status == 503)
            #expect(refused.bodyText.contains("\"Unavailable\"") && refused.bodyText.contains("until it is restarted"))
            let health = try await server.call("GET", "/healthz", as: nil)
            #expect(health.status == 503 && health.bodyText.contains("Input/output error"))
            let ready = try await server.call("GET", "/readyz", as: nil)
            #expect(ready.status == 503 && ready.bodyText.contains("cannot make writes durable"))
            let m = Self.samples(try await server.call("GET", "/metrics", as: "prometheus").bodyText)
            #expect(m["rein_collector_store_sync_failed"] == 1)
            #expect(m["rein_collector_ingested_records_total"] == 2)
            // Reads still answer: the records stored before are there.
            #expect(try await server.records("sidecar=sc-1").count == 2)
        }
    }

    /// A holds database that lost a commit refuses every hold write until a
    /// restart writes it anew (``SQLiteHoldLedger``): both probes say so,
    /// so that the orchestrator restarts the collector.
    @Test func aHoldsDatabaseThatLostACommitFailsBothProbes() async throws {
        try await withCollector(holds: true) { server in
            #expect(try await server.call("GET", "/readyz", as: nil).status == 200)
            let ledger = try #require(server.ledger)
            ledger.durability.latch(WALFileSync.Failure(path: ledger.path, operation: "commit to the holds database", reason: "Input/output error"))
            let health = try await server.call("GET", "/healthz", as: nil)
            #expect(health.status == 503 && health.bodyText.contains("holds database refuses writes until restarted"), "\(health.bodyText)")
            let ready = try await server.call("GET", "/readyz", as: nil)
            #expect(ready.status == 503 && ready.bodyText.contains("holds database") && ready.bodyText.contains("Input/output error"),
                    "\(ready.bodyText)")
        }
    }

    /// A full disk refuses writes with a 503 that names it and asks the
    /// sidecar to come back later; the probes stay up (reads answer), the
    /// gauge shows it, and once space is freed the same batch is taken.
    @Test func aFullDiskRefusesWritesUntilSpaceIsFreed() async throws {
        try await withCollector { server in
            var chain = try ScriptedChain(sidecarId: "sc-1")
            #expect(try await server.ship(try chain.seal(2), sidecarId: "sc-1").status == 200)
            let store = try #require(server.services.store as? SQLiteCollectorStore)
            try store.capSizeForTesting(true)

            let batch = try chain.seal(300)
            let refused = try await server.ship(batch, sidecarId: "sc-1")
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "30")
            #expect(refused.bodyText.contains("\"InsufficientStorage\"") && refused.bodyText.contains("disk is full"))
            #expect(try await server.call("GET", "/readyz", as: nil).status == 200)
            #expect(try await server.call("GET", "/healthz", as: nil).status == 200)
            let full = Self.samples(try await server.call("GET", "/metrics", as: "prometheus").bodyText)
            #expect(full["rein_collector_store_disk_full"] == 1)
            #expect(full["rein_collector_store_sync_failed"] == 0)
            #expect(try await server.records("sidecar=sc-1").count == 2)

            try store.capSizeForTesting(false)
            let taken = try await server.ship(batch, sidecarId: "sc-1")
            #expect(taken.status == 200 && taken.bodyText.contains("\"accepted\":300"))
            let after = Self.samples(try await server.call("GET", "/metrics", as: "prometheus").bodyText)
            #expect(after["rein_collector_store_disk_full"] == 0)
            #expect(try await server.records("sidecar=sc-1").count == 302)
        }
    }
}

