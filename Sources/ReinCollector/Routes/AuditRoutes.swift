import Foundation
import ReinAudit
import ReinPolicy
import ReinStore

/// Audit batches in; records, findings and verification out.
enum AuditRoutes {
    static var routes: [CollectorRoute] {
        [
            CollectorRoute(.POST, "/v1/audit/batches", roles: [.sidecar], handler: ingest),
            CollectorRoute(.GET, "/v1/audit/records", roles: [.auditor], handler: AuditRoutes.records),
            CollectorRoute(.GET, "/v1/audit/findings", roles: [.auditor], handler: findings),
            CollectorRoute(.GET, "/v1/audit/verify", roles: [.auditor], handler: verify),
        ]
    }

    struct IngestAnswer: Encodable {
        let sidecarId: String
        let accepted: Int
        let duplicates: Int
        let checkpoints: Int
        let findings: Int
        let throughSequence: Int64
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", accepted, duplicates, checkpoints, findings, throughSequence = "through_sequence"
        }
    }

    // MARK: POST /v1/audit/batches

    @Sendable static func ingest(_ call: CollectorCall) async throws -> CollectorResponse {
        guard let principal = call.principal else { return await call.deny("no token") }
        guard let sidecarId = call.request.header("X-Rein-Sidecar-Id"), !sidecarId.isEmpty else {
            throw CollectorAPIError.badRequest("the X-Rein-Sidecar-Id header is required")
        }
        if sidecarId == CollectorAuditTrail.sidecarId {
            return await call.deny("the sidecar id '\(sidecarId)' is reserved for the collector's own audit chain")
        }
        try SidecarRoutes.validateSidecarId(sidecarId)
        guard principal.mayActAs(sidecar: sidecarId) else { return await call.deny(principal.sidecarScopeRefusal(sidecarId)) }
        let services = call.services
        let limit = services.configuration.maxBatchBytes
        let encoding = call.request.header("Content-Encoding")?.lowercased().trimmingCharacters(in: .whitespaces) ?? "identity"
        let raw = call.request.body
        // Decompress and parse off the event loop (both cost milliseconds per
        // batch), one batch fewer at a time than there are cores (IngestParseGate).
        let parsed: Result<AuditBatch, CollectorAPIError> = try await services.blocking { IngestParseGate.shared.parsing {
            let body: [UInt8]
            switch encoding {
            case "gzip", "x-gzip":
                if let size = Self.gzipDeclaredSize(raw), size > limit {
                    return .failure(.tooLarge("the gzip trailer says \(size) bytes decompressed, over the cap of \(limit) bytes "
                                              + "(or the body was cut short: its last 4 bytes are then not a trailer)"))
                }
                do { body = try Gzip.decompress(raw, limit: limit) } catch {
                    return .failure(.badRequest("the gzip body does not decompress (corrupt, or more than \(limit) bytes)"))
                }
            case "identity", "":
                guard raw.count <= limit else { return .failure(.tooLarge("batches are capped at \(limit) bytes")) }
                body = raw
            default:
                return .failure(.badRequest("Content-Encoding \(encoding) is not supported (use gzip or identity)"))
            }
            do {
                return .success(try AuditBatch.parse(ndjson: body, sidecarId: sidecarId))
            } catch {
                return .failure(.badRequest("malformed batch: \(error)"))
            }
        } }
        let batch = try parsed.get()

        // The whole batch must be this sidecar's, for agents this token serves.
        for item in batch.items {
            switch item {
            case .record(let r):
                if r.sidecarId != sidecarId {
                    return await call.deny("a record of the batch for sidecar \(sidecarId) names sidecar \(r.sidecarId)")
                }
                if let agent = r.agentId, !principal.serves(agent: agent) {
                    return await call.deny("token \(principal.name) does not serve agent \(agent) (record \(r.sequence) of sidecar \(sidecarId))", agentId: agent)
                }
            case .checkpoint(let checkpoint, _):
                if checkpoint.sidecarId != sidecarId {
                    return await call.deny("a checkpoint of the batch for sidecar \(sidecarId) names sidecar \(checkpoint.sidecarId)")
                }
            }
        }
        let store = services.store
        // A chain is one agent's: the batch names one, and the sidecar id is
        // (or becomes, when nothing registered it yet) bound to that agent.
        let agents = Set(batch.items.compactMap { if case .record(let r) = $0 { r.agentId } else { nil } })
        guard agents.count <= 1 else {
            throw CollectorAPIError.badRequest("the batch for sidecar \(sidecarId) names \(agents.count) agents; a sidecar serves one")
        }
        var owner = try await services.blocking({ try store.sidecar(sidecarId) })?.agentId
        if owner == nil, let agent = agents.first {
            let now = services.nowMillis
            owner = try await services.blocking { try store.claimSidecar(sidecarId, agentId: agent, at: now) }
        }
        guard let owner else {
            // Nothing binds this id to an agent yet, and the batch names none:
            // any sidecar token could otherwise start another agent's chain.
            throw CollectorAPIError(.conflict, code: "NotRegistered",
                                    message: "sidecar \(sidecarId) is not registered and its batch names no agent; register it first")
        }
        if !principal.serves(agent: owner) || agents.contains(where: { $0 != owner }) {
            return await call.deny("sidecar \(sidecarId) is bound to agent \(owner), which token \(principal.name) does not serve "
                                   + "or the batch does not name", agentId: owner)
        }

        let now = services.nowMillis
        let outcome = try await services.blocking { try store.ingest(batch, at: now) }
        services.metrics.ingested(outcome)
        if outcome.accepted > 0 { services.recordsChanged.signal() }
        services.logIntegrity(outcome.findings)
        services.logger.debug("batch ingested", metadata: [
            "sidecar.id": "\(sidecarId)", "batch.accepted": "\(outcome.accepted)", "batch.duplicates": "\(outcome.duplicates)",
            "batch.findings": "\(outcome.findings.count)", "batch.through_sequence": "\(outcome.throughSequence)",
        ])
        return .json(IngestAnswer(sidecarId: sidecarId, accepted: outcome.accepted, duplicates: outcome.duplicates, checkpoints: outcome.checkpoints,
                                  findings: outcome.findings.count, throughSequence: outcome.throughSequence))
    }

    /// The uncompressed size a gzip member declares (ISIZE, its last four
    /// bytes), so that an oversized batch is refused before inflating it.
    static func gzipDeclaredSize(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 18 else { return nil }
        let n = bytes.count
        return Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
    }

    // MARK: GET /v1/audit/records

    @Sendable static func records(_ call: CollectorCall) async throws -> CollectorResponse {
        let q = call.request.query
        try onlyParameters(q, ["sidecar", "agent", "task", "action", "resource_prefix", "decision", "event", "since", "until",
                               "after", "limit", "wait", "format", "checkpoints"])
        let services = call.services
        let now = services.nowMillis
        var query = RecordQuery()
        query.sidecarId = q["sidecar"].nonEmpty
        query.agentId = q["agent"].nonEmpty
        query.taskId = q["task"].nonEmpty
        query.action = try q["action"].nonEmpty.map { try exactAction($0, canonical: services.canonicalAction) }
        query.resourcePrefix = try q["resource_prefix"].nonEmpty.map(plainPrefix)
        query.decision = try known(q["decision"].nonEmpty, name: "decision", in: AuditRecord.decisions)
        query.event = try known(q["event"].nonEmpty, name: "event", in: AuditRecord.events)
        query.since = try q["since"].nonEmpty.map { try time($0, name: "since", now: now) }
        query.until = try q["until"].nonEmpty.map { try time($0, name: "until", now: now) }
        if let since = query.since, let until = query.until, since > until { throw CollectorAPIError.badRequest("since is after until") }
        if let after = q["after"].nonEmpty {
            guard let cursor = Int64(after), cursor >= 0 else { throw CollectorAPIError.badRequest("after must be a cursor from X-Rein-Next-Cursor") }
            query.after = cursor
        }
        let requestedAfter = query.after
        query.limit = try integer(q["limit"], name: "limit", default: RecordQuery.defaultLimit, range: 1...Int.max)
        query.limit = min(query.limit, RecordQuery.maximumLimit)
        let wait = min(try integer(q["wait"], name: "wait", default: 0, range: 0...Int.max), 60)
        let format = q["format"].nonEmpty ?? "jsonl"
        guard ["jsonl", "ocsf", "cloudtrail"].contains(format) else {
            throw CollectorAPIError.badRequest("format must be jsonl, ocsf or cloudtrail")
        }
        let withCheckpoints = try flag(q["checkpoints"], name: "checkpoints")
        guard !withCheckpoints || format == "jsonl" else {
            throw CollectorAPIError.badRequest("checkpoints=true goes with format=jsonl: only the chained lines verify offline")
        }

        let store = services.store
        let deadline = ContinuousClock.now + .seconds(wait)
        var page: RecordPage
        while true {
            let generation = services.recordsChanged.generation
            let current = query
            page = try await services.reading { try store.records(current) }
            if !page.records.isEmpty || wait == 0 || services.recordsChanged.isClosed { break }
            // Nothing newer yet: the cursor may still move past records the filters exclude.
            query.after = page.nextCursor
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { break }
            await services.recordsChanged.wait(since: generation, timeout: remaining)
        }
        // Cursors only grow, so one beyond the newest ever handed out is not
        // this collector's (another's, or a database restored from before it):
        // saying so beats answering "nothing new" for ever.
        if page.records.isEmpty, requestedAfter > 0 {
            let newest = try await services.reading { try store.latestCursor() }
            guard requestedAfter <= newest else {
                throw CollectorAPIError.badRequest("after \(requestedAfter) is beyond this collector's newest cursor \(newest): a cursor from another "
                                                   + "collector, or a database restored from an older copy; start again without after")
            }
        }
        let body: [UInt8]
        let contentType: String
        switch format {
        case "jsonl":
            let signed = withCheckpoints ? try await checkpoints(naming: page.records, services: services) : [:]
            var out: [UInt8] = []
            out.reserveCapacity(page.records.reduce(0) { $0 + $1.line.count + 1 })
            for r in page.records {
                out += r.line
                out.append(UInt8(ascii: "\n"))
                for line in signed[SequenceKey(sidecarId: r.sidecarId, sequence: r.sequence)] ?? [] {
                    out += line
                    if line.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
                }
            }
            body = out
            contentType = "application/x-ndjson"
        case "ocsf":
            var out: [UInt8] = []
            for r in page.records {
                out += try AuditExport.jsonBytes(AuditExport.ocsf(try decode(r.line), naming: services.exportNaming))
                out.append(UInt8(ascii: "\n"))
            }
            body = out
            contentType = "application/x-ndjson"
        default:
            let events = try page.records.map { AuditExport.cloudTrail(try decode($0.line), naming: services.exportNaming) }
            body = try AuditExport.jsonBytes(["Records": events])
            contentType = "application/json"
        }
        return CollectorResponse(status: .ok, headers: [("Content-Type", contentType), ("X-Rein-Next-Cursor", String(page.nextCursor))],
                                 body: body)
    }

    /// A record's place in its sidecar's chain.
    struct SequenceKey: Hashable {
        let sidecarId: String
        let sequence: Int64
    }

    /// The stored checkpoint lines that name records of `records`, by the
    /// record they name: one range read per sidecar in the page.
    static func checkpoints(naming records: [RecordPage.Record], services: CollectorServices) async throws
        -> [SequenceKey: [[UInt8]]] {
        var ranges: [String: ClosedRange<Int64>] = [:]
        for r in records {
            let range = ranges[r.sidecarId] ?? r.sequence...r.sequence
            ranges[r.sidecarId] = min(range.lowerBound, r.sequence)...max(range.upperBound, r.sequence)
        }
        let wanted = Set(records.map { SequenceKey(sidecarId: $0.sidecarId, sequence: $0.sequence) })
        let store = services.store
        var out: [SequenceKey: [[UInt8]]] = [:]
        for (sidecarId, range) in ranges {
            let lines = try await services.reading {
                try store.checkpointLines(sidecarId: sidecarId, from: range.lowerBound, to: range.upperBound)
            }
            for (sequence, line) in lines {
                let key = SequenceKey(sidecarId: sidecarId, sequence: sequence)
                if wanted.contains(key) { out[key, default: []].append(line) }
            }
        }
        return out
    }

    static func decode(_ line: [UInt8]) throws -> AuditRecord {
        try JSONDecoder().decode(AuditRecord.self, from: Data(line))
    }

    /// `action` matches one IAM action exactly. A pattern (`s3:Put*`) or a
    /// bare operation (`PutObject`) would match nothing and read as "no such
    /// calls": refused, as unknown decisions are.
    static func exactAction(_ text: String, canonical: (String) -> String) throws -> String {
        guard !text.contains(where: { $0 == "*" || $0 == "?" }) else {
            throw CollectorAPIError.badRequest("action is one IAM action such as s3:PutObject; patterns such as '\(text)' are not supported")
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw CollectorAPIError.badRequest("action must be service:Action, such as s3:PutObject (got '\(text)')")
        }
        return canonical(text)
    }

    /// `resource_prefix` is a prefix: a trailing `*` (an IAM habit) would be
    /// matched literally and find nothing. `*` alone is a literal: the
    /// resource of calls on no particular resource.
    static func plainPrefix(_ text: String) throws -> String {
        guard text == "*" || !text.hasSuffix("*") else {
            throw CollectorAPIError.badRequest("resource_prefix is a plain prefix, not a pattern: drop the trailing * ('\(text.dropLast())')")
        }
        return text
    }

    /// RFC 3339, or a duration (`24h`) meaning that long before now.
    static func time(_ text: String, name: String, now: Int64) throws -> Int64 {
        if let ms = RFC3339Time.milliseconds(text) { return ms }
        if let seconds = DurationText.seconds(text) { return now - seconds * 1000 }
        throw CollectorAPIError.badRequest("\(name) must be an RFC 3339 time or a duration such as 24h")
    }

    /// Refuses a query parameter the route does not know: a mistyped filter
    /// (`agnet=`) would otherwise be ignored and match everything.
    static func onlyParameters(_ query: [String: String], _ known: Set<String>) throws {
        let unknown = query.keys.filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw CollectorAPIError.badRequest("unknown query parameter\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")); "
                                               + "this route takes \(known.sorted().joined(separator: ", "))")
        }
    }

    /// `text` when it is one of `values` (nil stays nil); a filter value
    /// outside the list would match nothing and look like an empty trail.
    static func known(_ text: String?, name: String, in values: [String]) throws -> String? {
        guard let text, !values.contains(text) else { return text }
        throw CollectorAPIError.badRequest("\(name) must be one of \(values.joined(separator: ", ")) (got \(text.debugDescription))")
    }

    /// `true` or `false` (absent or empty: false).
    static func flag(_ text: String?, name: String) throws -> Bool {
        switch text.nonEmpty {
        case nil, "false": return false
        case "true": return true
        default: throw CollectorAPIError.badRequest("\(name) must be true or false")
        }
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = text.nonEmpty else { return value }
        guard let n = Int(text), range.contains(n) else { throw CollectorAPIError.badRequest("\(name) must be a whole number ≥ \(range.lowerBound)") }
        return n
    }

    // MARK: GET /v1/audit/findings

    struct FindingBody: Encodable {
        let stored: StoredFinding
        enum CodingKeys: String, CodingKey {
            case id, kind, sidecarId = "sidecar_id", sequence, recordId = "record_id", detail, foundAt = "found_at"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(stored.id, forKey: .id)
            try c.encode(stored.finding.kind.rawValue, forKey: .kind)
            try c.encode(stored.finding.sidecarId, forKey: .sidecarId)
            try c.encode(stored.finding.sequence, forKey: .sequence)
            try c.encode(stored.finding.recordId, forKey: .recordId)
            try c.encode(stored.finding.detail, forKey: .detail)
            try c.encode(RFC3339Time.string(milliseconds: stored.foundAt), forKey: .foundAt)
        }
    }

    @Sendable static func findings(_ call: CollectorCall) async throws -> CollectorResponse {
        let q = call.request.query
        try onlyParameters(q, ["sidecar", "since", "after", "limit"])
        let services = call.services
        let sidecar = q["sidecar"].nonEmpty
        let since = try q["since"].nonEmpty.map { try time($0, name: "since", now: services.nowMillis) }
        let after = try q["after"].nonEmpty.map { Int64(try integer($0, name: "after", default: 0, range: 0...Int.max)) }
        let limit = min(try integer(q["limit"], name: "limit", default: 1000, range: 1...Int.max), RecordQuery.maximumLimit)
        let found = try await services.reading { [store = services.store] in
            try store.findings(sidecarId: sidecar, since: since, after: after, limit: limit)
        }
        return .json(found.map(FindingBody.init))
    }

    // MARK: GET /v1/audit/verify

    struct VerifyAnswer: Encodable {
        let report: ChainVerificationReport
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", from, to, records, checkpoints, ok, findings, retainedFrom = "retained_from"
        }
        struct Finding: Encodable {
            let finding: IntegrityFinding
            enum CodingKeys: String, CodingKey { case kind, sidecarId = "sidecar_id", sequence, recordId = "record_id", detail }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(finding.kind.rawValue, forKey: .kind)
                try c.encode(finding.sidecarId, forKey: .sidecarId)
                try c.encode(finding.sequence, forKey: .sequence)
                try c.encode(finding.recordId, forKey: .recordId)
                try c.encode(finding.detail, forKey: .detail)
            }
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(report.sidecarId, forKey: .sidecarId)
            try c.encode(report.from, forKey: .from)
            try c.encode(report.to, forKey: .to)
            try c.encode(report.records, forKey: .records)
            try c.encode(report.checkpoints, forKey: .checkpoints)
            try c.encode(report.ok, forKey: .ok)
            try c.encode(report.findings.map(Finding.init), forKey: .findings)
            try c.encodeIfPresent(report.retainedFrom, forKey: .retainedFrom)
        }
    }

    @Sendable static func verify(_ call: CollectorCall) async throws -> CollectorResponse {
        let q = call.request.query
        try onlyParameters(q, ["sidecar", "from", "to"])
        guard let sidecar = q["sidecar"].nonEmpty else { throw CollectorAPIError.badRequest("sidecar is required") }
        func sequence(_ name: String) throws -> Int64? {
            guard let text = q[name].nonEmpty else { return nil }
            guard let n = Int64(text), n >= 1 else { throw CollectorAPIError.badRequest("\(name) must be a sequence number ≥ 1") }
            return n
        }
        let from = try sequence("from")
        let to = try sequence("to")
        if let from, let to, from > to { throw CollectorAPIError.badRequest("from (\(from)) is after to (\(to))") }
        let services = call.services
        // A mistyped id must not "verify": an unknown sidecar is a 404, not an empty, clean chain.
        guard try await services.blocking({ [store = services.store] in try store.sidecar(sidecar) }) != nil else {
            throw CollectorAPIError(.notFound, code: "NoSuchSidecar", message: "no sidecar \(sidecar) has registered or shipped records")
        }
        let report = try await services.reading { [store = services.store] in try store.verify(sidecarId: sidecar, from: from, to: to) }
        if !report.ok {
            services.logger.warning("re-verification found problems", metadata: [
                "sidecar.id": "\(sidecar)", "verify.from": "\(report.from)", "verify.to": "\(report.to)",
                "verify.findings": "\(report.findings.count)",
            ])
        }
        return .json(VerifyAnswer(report: report))
    }
}

extension Optional where Wrapped == String {
    /// Nil for nil or an empty string.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
