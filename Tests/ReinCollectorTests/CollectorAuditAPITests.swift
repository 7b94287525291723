import Foundation
import ReinAudit
import Testing
@testable import ReinCollector

/// Audit batches over HTTP, queries, exports, findings and verification.
@Suite struct CollectorAuditAPITests {
    @Test func shipsGzipBatchesIdempotently() async throws {
        try await withCollector { s in
            var chain = try ScriptedChain(sidecarId: "sc-1")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", chain.registration).status == 200)
            let lines = try chain.seal(50) + [try chain.checkpoint()]
            let first = try await s.ship(lines, sidecarId: "sc-1")
            #expect(first.status == 200)
            #expect(first.object["accepted"] as? Int == 50)
            #expect(first.object["duplicates"] as? Int == 0)
            #expect(first.object["checkpoints"] as? Int == 1)
            #expect(first.object["findings"] as? Int == 0)
            #expect(first.object["through_sequence"] as? Int == 50)
            let again = try await s.ship(lines, sidecarId: "sc-1")
            #expect(again.object["accepted"] as? Int == 0)
            #expect(again.object["duplicates"] as? Int == 50)
            #expect(try await s.records("sidecar=sc-1").count == 50)
            // Identity encoding is accepted too.
            let plain = try await s.call("POST", "/v1/audit/batches", as: "sidecar-a", body: try chain.seal(2).flatMap { $0 },
                                         headers: [("X-Rein-Sidecar-Id", "sc-1"), ("Content-Type", "application/x-ndjson")])
            #expect(plain.object["accepted"] as? Int == 2)
            #expect(plain.object["through_sequence"] as? Int == 52)
            let verify = try await s.call("GET", "/v1/audit/verify?sidecar=sc-1", as: "carol").object
            #expect(verify["ok"] as? Bool == true)
            #expect(verify["records"] as? Int == 52)
            #expect(verify["checkpoints"] as? Int == 1)
        }
    }

    /// An export carries the signed checkpoints after the records they name,
    /// so that it verifies offline, signatures included.
    @Test func jsonlWithCheckpointsPutsEachAfterTheRecordItNames() async throws {
        try await withCollector { s in
            var a = try ScriptedChain(sidecarId: "sc-cp")
            #expect(try await s.json("POST", "/v1/sidecars/register", as: "sidecar-a", a.registration).status == 200)
            let first = try a.seal(3)
            let atThree = try a.checkpoint()
            let second = try a.seal(4)
            let atSeven = try a.checkpoint()
            #expect(try await s.ship(first + [atThree] + second + [atSeven], sidecarId: "sc-cp").object["findings"] as? Int == 0)
            var b = try ScriptedChain(sidecarId: "sc-other")
            #expect(try await s.ship(try b.seal(2) + [try b.checkpoint()], sidecarId: "sc-other").status == 200)

            func lines(_ query: String) async throws -> [String] {
                let answer = try await s.call("GET", "/v1/audit/records?\(query)", as: "carol")
                #expect(answer.status == 200)
                return answer.bodyText.split(separator: "\n").map(String.init)
            }
            let all = try await lines("sidecar=sc-cp&checkpoints=true")
            let trimmed = { (line: [UInt8]) in String(decoding: line.last == 10 ? line.dropLast() : line[...], as: UTF8.self) }
            let expected = (first + [atThree] + second + [atSeven]).map(trimmed)
            #expect(all == expected)
            // Without the flag: records only, as before.
            #expect(try await lines("sidecar=sc-cp") == (first + second).map(trimmed))
            // Paged: each checkpoint comes once, with the page that holds its record.
            let page1 = try await s.call("GET", "/v1/audit/records?sidecar=sc-cp&checkpoints=true&limit=3", as: "carol")
            #expect(page1.bodyText.split(separator: "\n").map(String.init) == (first + [atThree]).map(trimmed))
            let next = page1.header("X-Rein-Next-Cursor") ?? ""
            let page2 = try await lines("sidecar=sc-cp&checkpoints=true&after=\(next)")
            #expect(page2 == (second + [atSeven]).map(trimmed))
            // Each sidecar's checkpoints stay with its own records; a filter that
            // leaves out the named record leaves out its checkpoint.
            #expect(try await lines("sidecar=sc-other&checkpoints=true").count == 3)
            let both = try await lines("checkpoints=true&agent=agent-a&event=call")
            #expect(both.count == 12, "\(both)")
            #expect(try await lines("sidecar=sc-cp&checkpoints=true&decision=deny").isEmpty)
            #expect(try await lines("sidecar=sc-cp&checkpoints=true&until=2000-01-01T00:00:00Z").isEmpty)
            #expect(try await s.call("GET", "/v1/audit/records?checkpoints=true&format=ocsf", as: "carol").status == 400)
            #expect(try await s.call("GET", "/v1/audit/records?checkpoints=yes", as: "carol").status == 400)
            // The registered key is in the fleet view, for offline verification.
            let fleet = try await s.call("GET", "/v1/fleet", as: "carol").array
            #expect(fleet.first { $0["sidecar_id"] as? String == "sc-cp" }?["public_key"] as? String == a.key.publicKey.description)
        }
    }

    @Test func tamperedBatchesAreStoredAndFlaggedAtTheRightSequence() async throws {
        try await withCollector { s in
            var chain = try ScriptedChain(sidecarId: "sc-t")
            var lines = try chain.seal(10)
            lines.swapAt(4, 5)
            let answer = try await s.ship(lines, sidecarId: "sc-t")
            #expect(answer.status == 200)
            #expect(answer.object["findings"] as? Int == 2)
            let findings = try await s.call("GET", "/v1/audit/findings?sidecar=sc-t", as: "carol").array
            #expect(Set(findings.map { "\($0["kind"] ?? "")@\($0["sequence"] ?? "")" }) == ["gap@5", "out-of-order@5"])
            #expect(findings.allSatisfy { $0["found_at"] is String && $0["id"] is Int && $0["detail"] is String })
            #expect(try await s.records("sidecar=sc-t").count == 10)
            let verify = try await s.call("GET", "/v1/audit/verify?sidecar=sc-t&from=3&to=8", as: "carol").object
            #expect(verify["ok"] as? Bool == false)
            #expect(verify["from"] as? Int == 3 && verify["to"] as? Int == 8)
            #expect(((verify["findings"] as? [[String: Any]]) ?? []).contains { $0["kind"] as? String == "gap" && $0["sequence"] as? Int == 5 })
            #expect(try await s.call("GET", "/v1/audit/verify", as: "carol").status == 400)
            // A mistyped sidecar or an empty range is an error, not a clean chain.
            let unknown = try await s.call("GET", "/v1/audit/verify?sidecar=sc-typo", as: "carol")
            #expect(unknown.status == 404 && unknown.object["code"] as? String == "NoSuchSidecar")
            #expect(try await s.call("GET", "/v1/audit/verify?sidecar=sc-t&from=5&to=2", as: "carol").status == 400)
            // IAM action names match case-insensitively, as in IAM.
            #expect(try await s.records("sidecar=sc-t&action=S3:getobject").count == 10)
            // A mistyped filter is refused by name, not ignored (which would match everything).
            let typo = try await s.call("GET", "/v1/audit/records?agnet=agent-a", as: "carol")
            #expect(typo.status == 400 && (typo.object["message"] as? String)?.contains("unknown query parameter agnet") == true)
            #expect(try await s.call("GET", "/v1/audit/findings?sidecars=sc-t", as: "carol").status == 400)
            #expect(try await s.call("GET", "/v1/audit/verify?sidecar=sc-t&form=3", as: "carol").status == 400)
            #expect(try await s.call("GET", "/v1/audit/records?since=1h&until=2h", as: "carol").status == 400)
            // Patterns and bare operations would match nothing and read as "no such calls".
            for filter in ["action=s3:Get*", "action=GetObject", "action=s3:", "resource_prefix=arn:aws:s3:::bucket/*"] {
                let refused = try await s.call("GET", "/v1/audit/records?" + filter, as: "carol")
                #expect(refused.status == 400, "\(filter)")
            }
            // Durations too large to subtract from now are refused, not an overflow that stops the collector.
            for path in ["/v1/audit/records?since=9999999999999999s", "/v1/audit/findings?since=999999999999999d",
                         "/v1/audit/records?until=36601d"] {
                #expect(try await s.call("GET", path, as: "carol").status == 400, "\(path)")
            }
            #expect(try await s.call("GET", "/v1/audit/records?since=36600d", as: "carol").status == 200)
            #expect(try await s.call("GET", "/v1/audit/records?resource_prefix=*", as: "carol").status == 200) // calls on no resource
            // A cursor beyond any this collector handed out is not its own.
            let newest = try #require(Int(try await s.call("GET", "/v1/audit/records?limit=10000", as: "carol").header("X-Rein-Next-Cursor") ?? ""))
            #expect(try await s.call("GET", "/v1/audit/records?after=\(newest)", as: "carol").status == 200)
            let stale = try await s.call("GET", "/v1/audit/records?after=\(newest + 1000)", as: "carol")
            #expect(stale.status == 400 && (stale.object["message"] as? String)?.contains("newest cursor \(newest)") == true)
            // Findings page by id.
            let first = try #require(findings.map { $0["id"] as? Int ?? 0 }.min())
            let rest = try await s.call("GET", "/v1/audit/findings?sidecar=sc-t&after=\(first)", as: "carol").array
            #expect(rest.count == findings.count - 1 && rest.allSatisfy { ($0["id"] as? Int ?? 0) > first })
        }
    }

    @Test func malformedAndOversizedBatchesAreRefusedWhole() async throws {
        try await withCollector(maxBatchBytes: 64 * 1024) { s in
            var chain = try ScriptedChain(sidecarId: "sc-m")
            var lines = try chain.seal(3)
            lines.insert(Array("{\"schema\":\"rein.audit/v1\"}\n".utf8), at: 2)
            let malformed = try await s.ship(lines, sidecarId: "sc-m")
            #expect(malformed.status == 400)
            #expect(malformed.object["code"] as? String == "BadRequest")
            #expect((malformed.object["message"] as? String)?.contains("line 3") == true)
            #expect(try await s.records("sidecar=sc-m").isEmpty)
            // Over the cap decompressed (refused from the gzip trailer) and raw.
            let big = try chain.seal(200)
            #expect(try await s.ship(big, sidecarId: "sc-m").status == 413)
            let raw = try await s.call("POST", "/v1/audit/batches", as: "sidecar-a", body: big.flatMap { $0 },
                                       headers: [("X-Rein-Sidecar-Id", "sc-m")])
            #expect(raw.status == 413)
            #expect(try await s.call("POST", "/v1/audit/batches", as: "sidecar-a", body: Array("x".utf8),
                                     headers: [("X-Rein-Sidecar-Id", "sc-m"), ("Content-Encoding", "gzip")]).status == 400)
            #expect(try await s.call("POST", "/v1/audit/batches", as: "sidecar-a", body: []).status == 400)
            // The raw one was answered before routing; the metrics count it there.
            let metrics = CollectorMetricsTests.samples(try await s.call("GET", "/metrics", as: "prometheus").bodyText)
            #expect((metrics["rein_collector_requests_total{route=\"before-routing\",method=\"POST\",code=\"413\"}"] ?? 0) >= 1, "\(metrics)")
        }
    }

    @Test func aLargeBatchWithExpectContinueIsAccepted() async throws {
        try await withCollector { s in
            var chain = try ScriptedChain(sidecarId: "sc-big")
            let lines = try chain.seal(3000)
            let body = lines.flatMap { $0 }
            let answer = try await s.call("POST", "/v1/audit/batches", as: "sidecar-a", body: body,
                                          headers: [("X-Rein-Sidecar-Id", "sc-big"), ("Expect", "100-continue")])
            #expect(answer.status == 200)
            #expect(answer.object["accepted"] as? Int == 3000)
        }
    }

    @Test func queriesFilterAndExport() async throws {
        try await withCollector { s in
            var a = try ScriptedChain(sidecarId: "sc-a")
            _ = try await s.ship(try a.seal(6) { r in
                if r.recordId.hasPrefix("0") || r.recordId.hasPrefix("1") { r.reason = "hex" }
            }, sidecarId: "sc-a")
            _ = try await s.ship(try a.seal(2) { r in
                r.decision = "deny"
                r.grants = [.init(action: "iam:PassRole", resources: ["arn:aws:iam::123456789012:role/x"])]
                r.errorCode = "AccessDenied"
                r.forwarded = false
            }, sidecarId: "sc-a")
            #expect(try await s.records("decision=deny").count == 2)
            #expect(try await s.records("action=iam:PassRole").count == 2)
            #expect(try await s.records("resource_prefix=arn:aws:s3:::reports/").count == 6)
            #expect(try await s.records("agent=agent-a&task=task-1").count == 8)
            #expect(try await s.records("since=1h").count == 8)
            #expect(try await s.records("until=2000-01-01T00:00:00Z").isEmpty)
            #expect(try await s.call("GET", "/v1/audit/records?since=yesterday", as: "carol").status == 400)
            #expect(try await s.call("GET", "/v1/audit/records?format=xml", as: "carol").status == 400)
            // A mistyped decision or event is refused, not answered with an empty page.
            let typo = try await s.call("GET", "/v1/audit/records?decision=denied", as: "carol")
            #expect(typo.status == 400)
            #expect((typo.object["message"] as? String)?.contains("decision must be one of allow, deny, would-deny") == true)
            #expect((typo.object["message"] as? String)?.contains("(got \"denied\")") == true)
            #expect(try await s.call("GET", "/v1/audit/records?event=calls", as: "carol").status == 400)
            #expect(try await s.records("event=call").count == 8)
            #expect(try await s.records("decision=hold-expired").isEmpty)

            let ocsf = try await s.call("GET", "/v1/audit/records?format=ocsf&decision=deny", as: "carol")
            #expect(ocsf.header("Content-Type") == "application/x-ndjson")
            let events = ocsf.bodyText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(events.count == 2)
            #expect(events.allSatisfy { $0["class_uid"] as? Int == 6003 })

            let trail = try await s.call("GET", "/v1/audit/records?format=cloudtrail&limit=3", as: "carol")
            let records = trail.object["Records"] as? [[String: Any]]
            #expect(records?.count == 3)
            #expect(records?.first?["eventName"] as? String == "GetObject")
            #expect(trail.header("X-Rein-Next-Cursor") == "3")
        }
    }

    @Test func tailLongPollReturnsAsSoonAsARecordArrives() async throws {
        try await withCollector { s in
            var chain = try ScriptedChain(sidecarId: "sc-tail")
            _ = try await s.ship(try chain.seal(2), sidecarId: "sc-tail")
            let first = try await s.call("GET", "/v1/audit/records?sidecar=sc-tail", as: "carol")
            let cursor = try #require(first.header("X-Rein-Next-Cursor"))
            // Nothing new: the poll waits, then answers empty with the same cursor.
            let start = ContinuousClock.now
            let empty = try await s.call("GET", "/v1/audit/records?sidecar=sc-tail&wait=1&after=\(cursor)", as: "carol")
            #expect(empty.status == 200)
            #expect(empty.body.isEmpty)
            #expect(ContinuousClock.now - start >= .milliseconds(900))
            // A record arriving wakes it.
            async let polled = s.call("GET", "/v1/audit/records?sidecar=sc-tail&wait=30&after=\(cursor)", as: "carol")
            try await Task.sleep(for: .milliseconds(300))
            let shippedAt = ContinuousClock.now
            _ = try await s.ship(try chain.seal(1), sidecarId: "sc-tail")
            let answer = try await polled
            #expect(ContinuousClock.now - shippedAt < .seconds(5))
            let lines = answer.bodyText.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines.first?.contains("\"sequence\":3") == true)
            #expect(Int(answer.header("X-Rein-Next-Cursor") ?? "") ?? 0 > Int(cursor) ?? 0)
        }
    }
}
