import Foundation
import ReinHolds
import Synchronization
import Testing
@testable import ReinStore

/// A hold event its owner could not record (the audit store is full) is
/// not lost: it waits in the ledger's outbox, written with the transition,
/// and is offered again, before any later event, at the next transition,
/// at the expiry sweep and when the ledger opens after a restart.
struct HoldEventOutboxTests {
    struct CannotRecord: Error {}

    /// An owner that records into `recorded` unless `failing` is set.
    final class Owner: Sendable {
        let failing = Atomic<Bool>(false)
        let recorded = Mutex<[String]>([])
        let attempts = Atomic<Int>(0)

        func record(_ e: HoldEvent) throws {
            attempts.add(1, ordering: .relaxed)
            if failing.load(ordering: .relaxed) { throw CannotRecord() }
            recorded.withLock { $0.append("\(e.kind.rawValue) \(e.hold.id)") }
        }

        var list: [String] { recorded.withLock { $0 } }
    }

    func open(_ f: HoldFixture, _ owner: Owner) throws -> SQLiteHoldLedger {
        try SQLiteHoldLedger(path: f.dir + "/holds.sqlite", settings: f.settings, now: { f.clock.load(ordering: .relaxed) },
                             onEvent: { try owner.record($0) })
    }

    /// A ledger whose owner failed to record one hold's creation and can record again.
    func oneCreationWaiting() async throws -> (HoldFixture, Owner, SQLiteHoldLedger, Hold) {
        let f = try HoldFixture()
        let owner = Owner()
        let ledger = try open(f, owner)
        owner.failing.store(true, ordering: .relaxed)
        let hold = try await ledger.register(HoldFixture.request())
        #expect(owner.list.isEmpty)
        owner.failing.store(false, ordering: .relaxed)
        return (f, owner, ledger, hold)
    }

    @Test func anEventThatCouldNotBeRecordedIsOfferedAgainBeforeTheNextOne() async throws {
        let (f, owner, ledger, hold) = try await oneCreationWaiting()
        _ = try await ledger.decide(id: hold.id, .deny(reason: "no"), by: "alice")
        #expect(owner.list == ["hold-created \(hold.id)", "hold-denied \(hold.id)"])
        // Recorded events leave the outbox: nothing is offered twice, not even after a restart.
        ledger.close()
        let again = Owner()
        let reopened = try open(f, again)
        _ = try await reopened.expireDue()
        #expect(again.list.isEmpty)
        #expect(again.attempts.load(ordering: .relaxed) == 0)
    }

    @Test func unrecordedEventsSurviveARestartInOrder() async throws {
        let f = try HoldFixture()
        let failing = Owner()
        failing.failing.store(true, ordering: .relaxed)
        let ledger = try open(f, failing)
        let first = try await ledger.register(HoldFixture.request())
        let second = try await ledger.register(HoldFixture.request(key: String(repeating: "b", count: 64)))
        _ = try await ledger.decide(id: first.id, .approve(scope: .request, duration: nil, reason: "ok"), by: "alice")
        #expect(failing.list.isEmpty)
        // Each new transition offered the oldest waiting event first, and stopped there.
        #expect(failing.attempts.load(ordering: .relaxed) == 3)
        ledger.close()
        let owner = Owner()
        _ = try open(f, owner)
        #expect(owner.list == ["hold-created \(first.id)", "hold-created \(second.id)", "hold-approved \(first.id)"])
    }

    /// A second ledger on the same file while the first is open (two
    /// processes on one state_dir) is refused before it looks at the outbox,
    /// so the waiting event is not delivered by both.
    @Test func aSecondLedgerOnOneFileIsRefusedAndDeliversNothing() async throws {
        let (f, owner, ledger, hold) = try await oneCreationWaiting()
        let second = Owner()
        let refusal = #expect(throws: HoldError.self) { _ = try open(f, second) }
        #expect(refusal.map { "\($0)" }?.contains("is in use by another process (pid \(getpid()))") == true, "\(String(describing: refusal))")
        #expect(second.attempts.load(ordering: .relaxed) == 0)
        _ = try await ledger.decide(id: hold.id, .deny(reason: "no"), by: "alice")
        #expect(owner.list == ["hold-created \(hold.id)", "hold-denied \(hold.id)"])
        ledger.close()
        let third = Owner()
        _ = try open(f, third)
        #expect(third.list.isEmpty)
    }

    @Test func theExpirySweepOffersWaitingEventsWhenNothingIsDue() async throws {
        let (f, owner, ledger, hold) = try await oneCreationWaiting()
        defer { withExtendedLifetime(f) {} } // its directory holds the ledger
        #expect(try await ledger.expireDue().isEmpty)
        #expect(owner.list == ["hold-created \(hold.id)"])
    }

    /// A webhook's answer is not a transition, but it goes through the same
    /// outbox, in order after the creation it reports on.
    @Test func aNotedEventWaitsBehindAnEarlierUnrecordedOne() async throws {
        let (f, owner, ledger, hold) = try await oneCreationWaiting()
        defer { withExtendedLifetime(f) {} } // its directory holds the ledger
        try ledger.note(HoldEvent(kind: .notified, hold: hold, actor: "webhook", detail: "HTTP 200 after 1 attempt(s)", atMs: 1))
        #expect(owner.list == ["hold-created \(hold.id)", "hold-notified \(hold.id)"])
    }
}
