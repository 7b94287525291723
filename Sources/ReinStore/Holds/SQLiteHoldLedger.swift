import Foundation
import GRDB
import Logging
import ReinHolds

/// Holds and scoped grants in SQLite (WAL, synchronous FULL): a standalone
/// sidecar's `holds.sqlite`, or the collector's.
///
/// Why durable before anything is answered: a hold must survive a restart of
/// the sidecar and of the store, and nothing may be forwarded without a
/// recorded approval; every transition commits before its event is emitted
/// or a waiter is woken. Each hold is stored as its JSON document next to
/// the columns lookups need. Calls block on SQLite, so the async methods run
/// their work on a dispatch queue, never on an event loop or the
/// cooperative pool.
public final class SQLiteHoldLedger: HoldLedger {
    let pool: DatabasePool
    /// One process per ledger: a second would deliver pending events twice (``DatabaseLock``).
    private let lock: DatabaseLock
    /// SQLite syncs each commit itself (synchronous FULL); this only keeps a
    /// commit's I/O error as the ledger's fault (``WALFileSync/latch(_:)``).
    /// Why: a write-back that failed leaves blocks the file system holds as
    /// unwritten, and commits written over them later read back as zeros once
    /// the page cache is gone; so writes stop until a restart writes the
    /// ledger anew (``WALSyncFault``).
    let durability: WALFileSync
    let settings: HoldSettings
    let now: @Sendable () -> Int64
    let onEvent: @Sendable (HoldEvent) throws -> Void
    let logger: Logger
    /// Wakes waiters after every decision and expiry.
    public let changed = ChangeSignal()
    private let queue = DispatchQueue(label: "rein.holds", qos: .userInitiated, attributes: .concurrent)
    /// Held from a transition's write until its events are handed over, so
    /// that the owner receives events in commit order (the collector's chain
    /// records them in the order they happened) though the queue is concurrent.
    private let ordered = NSLock()
    public let path: String

    /// `onEvent` receives every transition after it committed, in commit
    /// order (the owner turns them into audit records and webhook calls),
    /// and throws when it could not record one. Each event is written to
    /// the ledger's outbox in the transition's own transaction and leaves
    /// it only once `onEvent` returned: an event it could not record (a
    /// full disk, a closing spool) is offered again, before any later one,
    /// at the next transition and when the ledger opens, also after a
    /// restart. It may block briefly (a durable audit write), not on people.
    public init(path: String, settings: HoldSettings, logger: Logger = Logger(label: "rein.holds"),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
                onEvent: @escaping @Sendable (HoldEvent) throws -> Void = { _ in }) throws(HoldError) {
        self.path = path
        self.settings = settings
        self.now = now
        self.onEvent = onEvent
        self.logger = logger
        durability = WALFileSync(databasePath: path)
        do {
            lock = try SQLiteStore.lockForWriting(path)
            try WALSyncFault.recover(databasePath: path, logger: logger)
            pool = try SQLiteStore.open(path: path)
            try SQLiteStore.migrate(Self.migrator, pool)
        } catch {
            throw HoldError(.storage, "cannot open the holds database \(path): \(error)")
        }
        // Events a previous run committed but could not record.
        ordered.lock()
        deliverPending()
        ordered.unlock()
    }

    public func close() {
        changed.close()
        SQLiteStore.close(pool, checkpoint: durability.fault == nil, logger: logger)
        lock.release()
    }

    /// Tests: makes the database refuse to grow (`SQLITE_FULL`, as a full
    /// disk does), or lifts that.
    func capSizeForTesting(_ on: Bool) throws {
        try SQLiteStore.capSizeForTesting(pool, on)
    }

    /// Why the ledger refuses writes until a restart (a commit failed with
    /// an I/O error), or nil.
    public var durabilityFault: String? { durability.fault?.description }

    /// One write transaction, refused once a commit failed with an I/O
    /// error, and keeping such a failure as the ledger's fault.
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        if let fault = durability.fault {
            // 503, as the collector's store answers once it lost a sync: the
            // restart that clears it is the probes' to ask for.
            throw HoldError(.unavailable, "the holds database refuses writes until it is restarted: \(fault)")
        }
        do {
            return try pool.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_IOERR {
            durability.latch(WALFileSync.Failure(path: path, operation: "commit to the holds database", reason: "\(error)"))
            throw error
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("holds-v1") { db in
            try db.execute(sql: """
                CREATE TABLE holds (
                    id TEXT PRIMARY KEY,
                    key TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_ms INTEGER NOT NULL,
                    expires_ms INTEGER NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE INDEX holds_key ON holds(key, created_ms);
                CREATE INDEX holds_pending ON holds(status, expires_ms);
                CREATE INDEX holds_agent ON holds(agent_id, created_ms);
                CREATE TABLE hold_grants (
                    id TEXT PRIMARY KEY,
                    hold_id TEXT NOT NULL,
                    agent_id TEXT NOT NULL,
                    task_id TEXT NOT NULL,
                    expires_ms INTEGER NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE INDEX hold_grants_agent ON hold_grants(agent_id, task_id, expires_ms);
                """)
        }
        migrator.registerMigration("holds-v2-event-outbox") { db in
            try db.execute(sql: "CREATE TABLE hold_events (id INTEGER PRIMARY KEY AUTOINCREMENT, document TEXT NOT NULL)")
        }
        return migrator
    }

    // MARK: - HoldLedger

    public func register(_ new: NewHold) async throws(HoldError) -> Hold {
        try await run { [self] in
            ordered.lock()
            defer { ordered.unlock() }
            let t = now()
            let (hold, events) = try transition { db, events -> Hold in
                events += try expireDue(db, at: t)
                let candidates = try String.fetchAll(db, sql: """
                    SELECT document FROM holds WHERE key = ? AND agent_id = ? AND status IN ('pending', 'approved')
                    ORDER BY created_ms DESC LIMIT 50
                    """, arguments: [new.key, new.agentId])
                for document in candidates {
                    let h = try Self.decode(document)
                    // The key is only a digest the caller sends: a retry is the same
                    // call from the same sidecar, never another call that claims its
                    // key (it would be handed an approval a person gave to another).
                    guard h.sameCall(as: new) else { continue }
                    if h.status(at: t) == .pending || (h.status == .approved && h.usedMs == nil) { return h }
                }
                var id = HoldIdentity.shortId(prefix: "h")
                while try Bool.fetchOne(db, sql: "SELECT 1 FROM holds WHERE id = ?", arguments: [id]) == true {
                    id = HoldIdentity.shortId(prefix: "h")
                }
                let h = new.hold(id: id, createdMs: t, expiresMs: t + settings.expireMs)
                try insert(h, db: db)
                events.append(HoldEvent(kind: .created, hold: h, actor: new.sidecarId, atMs: t))
                return h
            }
            emit(events)
            return hold
        }
    }

    public func hold(id: String) async throws(HoldError) -> Hold? {
        try await run { [self] in try currentHold(id) }
    }

    public func list(_ filter: HoldFilter) async throws(HoldError) -> [Hold] {
        try await run { [self] in
            _ = try expireNow()
            var sql = "SELECT document FROM holds WHERE 1"
            var arguments: StatementArguments = []
            if let status = filter.status {
                sql += " AND status = ?"
                _ = arguments.append(contentsOf: [status.rawValue])
            }
            if let agent = filter.agentId {
                sql += " AND agent_id = ?"
                _ = arguments.append(contentsOf: [agent])
            }
            if let agents = filter.agents {
                guard !agents.isEmpty else { return [] }
                sql += " AND agent_id IN (\(agents.map { _ in "?" }.joined(separator: ",")))"
                _ = arguments.append(contentsOf: StatementArguments(agents.sorted()))
            }
            sql += " ORDER BY created_ms DESC, id LIMIT \(max(1, min(filter.limit, 10_000)))"
            return try pool.read { db in try String.fetchAll(db, sql: sql, arguments: arguments).map(Self.decode) }
        }
    }

    public func decide(id: String, _ decision: HoldDecision, by approver: String) async throws(HoldError) -> Hold {
        try await run { [self] in
            ordered.lock()
            defer { ordered.unlock() }
            let t = now()
            let (hold, events) = try transition { db, events -> Hold in
                events += try expireDue(db, at: t)
                guard let document = try String.fetchOne(db, sql: "SELECT document FROM holds WHERE id = ?", arguments: [id]) else {
                    throw HoldError(.notFound, "no hold \(id)")
                }
                var h = try Self.decode(document)
                switch (h.status, decision) {
                case (.approved, .approve), (.denied, .deny):
                    return h // the same decision again: idempotent
                case (.expired, _):
                    throw HoldError(.conflict, "hold \(id) expired without a decision (after holds.expire) and counts as denied; it cannot be decided now")
                case (.approved, .deny):
                    throw HoldError(.conflict, "hold \(id) was already approved by \(h.approver ?? "?"); it cannot be denied now")
                case (.denied, .approve):
                    throw HoldError(.conflict, "hold \(id) was already denied by \(h.approver ?? "?"); it cannot be approved now")
                case (.pending, .deny(let reason)):
                    h.status = .denied
                    h.decisionReason = reason
                case (.pending, .approve(let scope, let duration, let reason)):
                    h.status = .approved
                    h.scope = scope
                    h.decisionReason = reason
                    if scope == .actionResource {
                        let length = min(HoldSettings.milliseconds(duration ?? settings.defaultGrant), HoldSettings.milliseconds(settings.maxGrant))
                        var grantId = HoldIdentity.shortId(prefix: "g")
                        while try Bool.fetchOne(db, sql: "SELECT 1 FROM hold_grants WHERE id = ?", arguments: [grantId]) == true {
                            grantId = HoldIdentity.shortId(prefix: "g")
                        }
                        let grant = HoldGrant(id: grantId, holdId: h.id, agentId: h.agentId, taskId: h.taskId, grants: h.grants,
                                              approver: approver, reason: reason, createdMs: t, expiresMs: t + length)
                        try db.execute(sql: """
                            INSERT INTO hold_grants (id, hold_id, agent_id, task_id, expires_ms, document) VALUES (?, ?, ?, ?, ?, ?)
                            """, arguments: [grant.id, h.id, h.agentId, h.taskId, grant.expiresMs, try Self.encode(grant)])
                        h.grantId = grant.id
                        h.grantExpiresMs = grant.expiresMs
                    }
                }
                h.approver = approver
                h.decidedMs = t
                try update(h, db: db)
                events.append(HoldEvent(kind: h.status == .approved ? .approved : .denied, hold: h, actor: approver,
                                        detail: decision.reason, atMs: t))
                return h
            }
            emit(events)
            return hold
        }
    }

    public func waitForDecision(id: String, timeout: Duration) async throws(HoldError) -> Hold {
        let deadline = ContinuousClock.now + timeout
        while true {
            let generation = changed.generation
            guard let hold = try await hold(id: id) else { throw HoldError(.notFound, "no hold \(id)") }
            let remaining = deadline - ContinuousClock.now
            if hold.status != .pending || remaining <= .zero || changed.isClosed { return hold }
            // Wake at the expiry too, so an expiring hold is answered on time.
            let untilExpiry = Duration.milliseconds(max(0, hold.expiresMs - now()) + 5)
            await changed.wait(since: generation, timeout: min(remaining, untilExpiry))
        }
    }

    public func consume(id: String) async throws(HoldError) -> Bool {
        try await run { [self] in
            let t = now()
            return try write { db -> Bool in
                guard let document = try String.fetchOne(db, sql: "SELECT document FROM holds WHERE id = ?", arguments: [id]) else {
                    throw HoldError(.notFound, "no hold \(id)")
                }
                var h = try Self.decode(document)
                guard h.status == .approved else {
                    throw HoldError(.conflict, "hold \(id) is \(h.status(at: t).rawValue), not approved")
                }
                guard h.usedMs == nil else { return false }
                h.usedMs = t
                try update(h, db: db)
                return true
            }
        }
    }

    public func matchingGrant(agentId: String, taskId: String, grants: [HoldGrantItem]) async throws(HoldError) -> HoldGrant? {
        try await run { [self] in
            let t = now()
            let found = try pool.read { db -> (HoldGrant, Hold)? in
                let documents = try String.fetchAll(db, sql: """
                    SELECT document FROM hold_grants WHERE agent_id = ? AND task_id = ? AND expires_ms > ? ORDER BY expires_ms DESC
                    """, arguments: [agentId, taskId, t])
                for document in documents {
                    let grant = try JSONDecoder().decode(HoldGrant.self, from: Data(document.utf8))
                    guard grant.covers(agentId: agentId, taskId: taskId, wanted: grants, at: t) else { continue }
                    guard let holdDocument = try String.fetchOne(db, sql: "SELECT document FROM holds WHERE id = ?", arguments: [grant.holdId]) else { continue }
                    return (grant, try Self.decode(holdDocument))
                }
                return nil
            }
            guard let (grant, hold) = found else { return nil }
            ordered.lock()
            defer { ordered.unlock() }
            let (_, events) = try transition { _, events in
                events.append(HoldEvent(kind: .grantUsed, hold: hold, actor: grant.approver, grant: grant,
                                        detail: "grant \(grant.id) by \(grant.approver) covered a new call", atMs: t))
            }
            emit(events)
            return grant
        }
    }

    // MARK: - expiry

    /// Marks every pending hold past its expiry as expired (an `hold-expired`
    /// event each) and wakes waiters; the owner calls it every few seconds.
    @discardableResult
    public func expireDue() async throws(HoldError) -> [Hold] {
        try await run { [self] in try expireNow() }
    }

    private func expireNow() throws -> [Hold] {
        let t = now()
        let due = try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM holds WHERE status = 'pending' AND expires_ms <= ? LIMIT 1", arguments: [t]) == true
        }
        guard due else {
            // Nothing to expire: a sweep still offers events an owner could not record yet.
            if try pool.read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM hold_events LIMIT 1") == true }) {
                ordered.lock()
                defer { ordered.unlock() }
                deliverPending()
            }
            return []
        }
        ordered.lock()
        defer { ordered.unlock() }
        let (_, events) = try transition { db, events in events += try expireDue(db, at: t) }
        emit(events)
        return events.map(\.hold)
    }

    private func expireDue(_ db: Database, at t: Int64) throws -> [HoldEvent] {
        let documents = try String.fetchAll(db, sql: "SELECT document FROM holds WHERE status = 'pending' AND expires_ms <= ?", arguments: [t])
        return try documents.map { document in
            var h = try Self.decode(document)
            h.status = .expired
            h.decidedMs = h.expiresMs
            try update(h, db: db)
            return HoldEvent(kind: .expired, hold: h, actor: nil, detail: "no decision within holds.expire", atMs: t)
        }
    }

    private func currentHold(_ id: String) throws -> Hold? {
        let t = now()
        guard let document = try pool.read({ db in try String.fetchOne(db, sql: "SELECT document FROM holds WHERE id = ?", arguments: [id]) }) else {
            return nil
        }
        let h = try Self.decode(document)
        if h.status(at: t) != h.status {
            _ = try expireNow()
            return try pool.read { db in try String.fetchOne(db, sql: "SELECT document FROM holds WHERE id = ?", arguments: [id]) }.map(Self.decode)
        }
        return h
    }

    // MARK: - plumbing

    private func insert(_ h: Hold, db: Database) throws {
        try db.execute(sql: """
            INSERT INTO holds (id, key, agent_id, status, created_ms, expires_ms, document) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [h.id, h.key, h.agentId, h.status.rawValue, h.createdMs, h.expiresMs, try Self.encode(h)])
    }

    private func update(_ h: Hold, db: Database) throws {
        try db.execute(sql: "UPDATE holds SET status = ?, document = ? WHERE id = ?", arguments: [h.status.rawValue, try Self.encode(h), h.id])
    }

    /// Runs `body` in one write transaction and stages the events it adds
    /// in the outbox in that same transaction: a transition and its events
    /// commit together or not at all.
    private func transition<T>(_ body: (Database, inout [HoldEvent]) throws -> T) throws -> (T, [HoldEvent]) {
        try write { db in
            var events: [HoldEvent] = []
            let result = try body(db, &events)
            for event in events {
                try db.execute(sql: "INSERT INTO hold_events (document) VALUES (?)", arguments: [try Self.encode(event)])
            }
            return (result, events)
        }
    }

    /// Wakes waiters for decisions and expiries, then hands the outbox to
    /// the owner. Called with `ordered` held, after the transition committed.
    private func emit(_ events: [HoldEvent]) {
        guard !events.isEmpty else { return }
        if events.contains(where: { $0.kind != .created && $0.kind != .grantUsed }) { changed.signal() }
        deliverPending()
    }

    /// Offers every event still in the outbox to `onEvent`, oldest first,
    /// and removes those it recorded; stops at the first it could not
    /// record, so that the owner's record keeps the order events happened
    /// in. Called with `ordered` held.
    private func deliverPending() {
        do {
            let pending = try pool.read { db in try Row.fetchAll(db, sql: "SELECT id, document FROM hold_events ORDER BY id") }
            var recordedThrough: Int64?
            for (index, row) in pending.enumerated() {
                let id: Int64 = row["id"]
                do {
                    try onEvent(try JSONDecoder().decode(HoldEvent.self, from: Data((row["document"] as String).utf8)))
                    recordedThrough = id
                } catch is DecodingError {
                    logger.error("a stored hold event cannot be read; it is dropped", metadata: ["holds.database": "\(path)", "holds.event": "\(id)"])
                    recordedThrough = id
                } catch {
                    logger.error("could not record a hold event yet; it stays in the ledger and is offered again with the next one",
                                 metadata: ["holds.database": "\(path)", "error": "\(error)",
                                            "events.waiting": "\(pending.count - index)"])
                    break
                }
            }
            guard let recordedThrough else { return }
            try write { db in try db.execute(sql: "DELETE FROM hold_events WHERE id <= ?", arguments: [recordedThrough]) }
        } catch {
            logger.error("the hold event outbox failed; its events are offered again with the next one",
                         metadata: ["holds.database": "\(path)", "error": "\(error)"])
        }
    }

    /// Records an event that is not a ledger transition (the webhook's
    /// answer) through the same outbox, in order with the transitions.
    public func note(_ event: HoldEvent) throws(HoldError) {
        ordered.lock()
        defer { ordered.unlock() }
        do {
            _ = try transition { _, events in events.append(event) }
        } catch {
            throw Self.holdError(error)
        }
        deliverPending()
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode(_ document: String) throws -> Hold {
        try JSONDecoder().decode(Hold.self, from: Data(document.utf8))
    }

    /// Runs blocking work on the ledger's queue, mapping every error to a ``HoldError``.
    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(HoldError) -> T {
        let result: Result<T, HoldError> = await withCheckedContinuation { continuation in
            queue.async {
                do {
                    continuation.resume(returning: .success(try body()))
                } catch let error as HoldError {
                    continuation.resume(returning: .failure(error))
                } catch {
                    continuation.resume(returning: .failure(Self.holdError(error)))
                }
            }
        }
        return try result.get()
    }

    /// A database error as the API says it: a full disk is told apart, as it
    /// changed nothing and passes once space is freed (SQLite rolled the
    /// write back whole), unlike a failure of the store.
    static func holdError(_ error: any Error) -> HoldError {
        if let error = error as? HoldError { return error }
        if SQLiteStore.isDiskFull(error) {
            return HoldError(.diskFull, "the disk under the holds database is full: nothing was changed; try again once space is freed there")
        }
        return HoldError(.storage, "the holds database failed: \(error)")
    }
}

extension SQLiteHoldLedger {
    /// Expires undecided holds on time (recording each), whether or not
    /// anyone waits on them: a sweep every `interval` until the task is cancelled.
    public func startExpirySweep(every interval: Duration = .seconds(1)) -> Task<Void, Never> {
        Task { [self] in
            while !Task.isCancelled {
                do throws(HoldError) { try await expireDue() } catch {
                    logger.error("hold expiry sweep failed", metadata: ["holds.database": "\(path)", "error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
