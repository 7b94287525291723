import Foundation
import Synchronization
import Testing
@testable import ReinBroker

/// The cache: refresh timing with an injected clock, failure handling, and expiry.
struct BrokerCredentialSourceTests {
    let clock = TestClock()

    func source(_ provider: FakeProvider, onRefresh: (@Sendable (BrokerCredentialSource.RefreshEvent) -> Void)? = nil) -> BrokerCredentialSource {
        let clock = self.clock
        return BrokerCredentialSource(provider: provider, refreshBefore: 300, expiryMargin: 30,
                                      now: { clock.now }, jitter: { 1 }, onRefresh: onRefresh)
    }

    @Test func notReadyBeforeTheFirstFetch() {
        let cache = source(FakeProvider(lifetime: 3600))
        #expect(cache.current() == nil)
        #expect(!cache.isReady)
    }

    @Test func refreshesFiveMinutesBeforeExpiry() throws {
        let provider = FakeProvider(lifetime: 3600)
        let cache = source(provider)
        let start = clock.now
        try cache.refreshNow()
        #expect(cache.current()?.accessKeyId == "ASIAFAKE1")
        clock.advance(to: 3299, from: start)
        cache.refreshIfDue()
        #expect(provider.fetches == 1)
        clock.advance(to: 3300, from: start)
        cache.refreshIfDue()
        #expect(provider.fetches == 2)
        #expect(cache.current()?.accessKeyId == "ASIAFAKE2")
    }

    @Test func shortSessionsRefreshAtTwoThirdsOfTheirLifetime() throws {
        // 600 s: five minutes ahead would be halfway; two thirds is 400 s in.
        let provider = FakeProvider(lifetime: 600)
        let cache = source(provider)
        let start = clock.now
        try cache.refreshNow()
        #expect(cache.nextRefresh == start.addingTimeInterval(400))
        clock.advance(to: 399, from: start)
        cache.refreshIfDue()
        #expect(provider.fetches == 1)
        clock.advance(to: 400, from: start)
        cache.refreshIfDue()
        #expect(provider.fetches == 2)
    }

    @Test func failedRefreshKeepsCredentialsUntilTheyExpireThenNotReady() throws {
        let provider = FakeProvider(lifetime: 3600)
        let events = Mutex<[Bool]>([])
        let cache = source(provider) { event in events.withLock { $0.append(event.success) } }
        let start = clock.now
        try cache.refreshNow()
        provider.failWith(BrokerError(provider: "fake", kind: .transport, message: "STS unreachable"))
        clock.advance(to: 3300, from: start)
        cache.refreshIfDue()
        #expect(cache.refreshCount(success: false) == 1)
        #expect(cache.current()?.accessKeyId == "ASIAFAKE1")
        #expect(cache.lastError?.kind == .transport)
        // Usable up to the safety margin before expiry, never after.
        clock.advance(to: 3569, from: start)
        #expect(cache.isReady)
        clock.advance(to: 3570, from: start)
        #expect(cache.current() == nil)
        #expect(!cache.isReady)
        clock.advance(to: 7200, from: start)
        cache.refreshIfDue()
        #expect(cache.current() == nil)
        #expect(cache.refreshCount(success: true) == 1)
        #expect(events.withLock { $0 } == [true, false, false])
    }

    @Test func recoversAfterAFailedRefresh() throws {
        let provider = FakeProvider(lifetime: 3600)
        let cache = source(provider)
        let start = clock.now
        try cache.refreshNow()
        provider.failWith(BrokerError(provider: "fake", kind: .transport, message: "down"))
        clock.advance(to: 3300, from: start)
        cache.refreshIfDue()
        provider.failWith(nil)
        clock.advance(to: 3301, from: start)
        cache.refreshIfDue()
        #expect(cache.current()?.accessKeyId == "ASIAFAKE3")
        #expect(cache.lastError == nil)
        #expect(cache.refreshCount(success: true) == 2)
    }

    @Test func retriesWithExponentialBackoff() throws {
        let provider = FakeProvider(lifetime: 3600)
        let cache = source(provider)
        try cache.refreshNow()
        provider.failWith(BrokerError(provider: "fake", kind: .transport, message: "down"))
        var delays: [TimeInterval] = []
        clock.advance(by: 3300)
        for _ in 0..<8 {
            let before = clock.now
            cache.refreshIfDue()
            let next = try #require(cache.nextRefresh)
            delays.append(next.timeIntervalSince(before))
            // Not due again until the backoff has passed.
            clock.advance(by: next.timeIntervalSince(before) - 0.5)
            let fetches = provider.fetches
            cache.refreshIfDue()
            #expect(provider.fetches == fetches)
            clock.advance(by: 0.5)
        }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60])
    }

    @Test func taskTooShortStopsRetrying() throws {
        let provider = FakeProvider(lifetime: 3600)
        let cache = source(provider)
        try cache.refreshNow()
        provider.failWith(BrokerError(provider: "fake", kind: .taskTooShort, message: "task ends"))
        clock.advance(by: 3300)
        cache.refreshIfDue()
        #expect(cache.nextRefresh == nil)
        clock.advance(by: 100)
        cache.refreshIfDue()
        #expect(provider.fetches == 2)
        #expect(cache.isReady)
    }

    @Test func neverCachesCredentialsThatAreAlreadyExpired() {
        let provider = FakeProvider(lifetime: 20)
        let cache = source(provider)
        let error = #expect(throws: BrokerError.self) { try cache.refreshNow() }
        #expect(error?.kind == .expired)
        #expect(cache.current() == nil)
    }

    @Test func longTermKeysAreNeverRefreshed() throws {
        let provider = FakeProvider(lifetime: nil)
        let cache = source(provider)
        try cache.refreshNow()
        #expect(cache.nextRefresh == nil)
        clock.advance(by: 86_400 * 30)
        cache.refreshIfDue()
        #expect(provider.fetches == 1)
        #expect(cache.isReady)
    }

    @Test func backgroundThreadRefreshesAheadOfExpiry() async throws {
        let provider = FakeProvider(lifetime: 1.5)
        let cache = BrokerCredentialSource(provider: provider, refreshBefore: 300, expiryMargin: 0.1)
        cache.start()
        defer { cache.stop() }
        let deadline = Date().addingTimeInterval(10)
        while cache.refreshCount(success: true) < 3 && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        // Refreshed at two thirds of each 1.5 s lifetime, so never without credentials.
        #expect(cache.refreshCount(success: true) >= 3)
        #expect(cache.isReady)
        cache.stop()
        let stoppedAt = provider.fetches
        try await Task.sleep(for: .milliseconds(1500))
        #expect(provider.fetches <= stoppedAt + 1)
    }

    /// A new policy version's scope: fetched with the new provider at once,
    /// the old credentials in use until then.
    @Test func rescopeFetchesWithTheNewProviderAtOnceAndKeepsTheOldUntilThen() throws {
        let old = FakeProvider(lifetime: 3600, prefix: "OLD")
        let cache = source(old)
        let start = clock.now
        try cache.refreshNow()
        clock.advance(to: 60, from: start)
        let new = FakeProvider(lifetime: 3600, prefix: "NEW")
        cache.rescope(with: new)
        #expect(cache.current()?.accessKeyId == "ASIAOLD1", "still signing while STS answers")
        #expect(cache.nextRefresh == .distantPast)
        cache.refreshIfDue()
        #expect(new.fetches == 1 && old.fetches == 1)
        #expect(cache.current()?.accessKeyId == "ASIANEW1")
        #expect(cache.nextRefresh == start.addingTimeInterval(60 + 3300), "then the usual schedule, from the new fetch")
        #expect(cache.provider.name == "fake")
    }

    /// A fetch that began before the rescope carries the old scope: it is
    /// cached (valid credentials), but the new scope is fetched right after.
    @Test func aFetchBegunBeforeTheRescopeDoesNotCountForIt() throws {
        let cacheBox = Mutex<BrokerCredentialSource?>(nil)
        let new = FakeProvider(lifetime: 3600, prefix: "NEW")
        let old = FakeProvider(lifetime: 3600, prefix: "OLD", during: { cacheBox.withLock { $0 }?.rescope(with: new) })
        let cache = source(old)
        cacheBox.withLock { $0 = cache }
        try cache.refreshNow() // the rescope lands while this fetch runs
        #expect(cache.current()?.accessKeyId == "ASIAOLD1")
        #expect(cache.nextRefresh == .distantPast)
        cache.refreshIfDue()
        #expect(cache.current()?.accessKeyId == "ASIANEW1")
        #expect(old.fetches == 1 && new.fetches == 1)
    }

    /// STS refusing the new scope: the old credentials stay until they
    /// expire, never after, and the new scope is retried with backoff.
    @Test func aFailedRescopeKeepsTheOldCredentialsAndRetries() throws {
        let old = FakeProvider(lifetime: 3600, prefix: "OLD")
        let cache = source(old)
        let start = clock.now
        try cache.refreshNow()
        let new = FakeProvider(lifetime: 3600, prefix: "NEW")
        new.failWith(BrokerError(provider: "fake", kind: .transport, message: "STS unreachable"))
        cache.rescope(with: new)
        cache.refreshIfDue()
        #expect(cache.current()?.accessKeyId == "ASIAOLD1")
        #expect(cache.nextRefresh == start.addingTimeInterval(1), "retried after the first backoff")
        new.failWith(nil)
        clock.advance(to: 1, from: start)
        cache.refreshIfDue()
        #expect(cache.current()?.accessKeyId == "ASIANEW2")
        #expect(old.fetches == 1)
    }

    /// The background thread is woken by a rescope, not at the old schedule.
    @Test func theBackgroundThreadFetchesTheNewScopeAtOnce() async throws {
        let old = FakeProvider(lifetime: 3600, prefix: "OLD")
        let cache = BrokerCredentialSource(provider: old, refreshBefore: 300, expiryMargin: 30)
        try cache.refreshNow()
        cache.start()
        defer { cache.stop() }
        let new = FakeProvider(lifetime: 3600, prefix: "NEW")
        cache.rescope(with: new)
        let deadline = Date().addingTimeInterval(10)
        while cache.current()?.accessKeyId != "ASIANEW1" && Date() < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(cache.current()?.accessKeyId == "ASIANEW1")
    }
}
