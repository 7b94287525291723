import Testing
import ReinStore

/// What separates "woken" from "timed out" is the 30 s timeout against a
/// 10 s bound: the resumed task needs a free cooperative-pool thread, and on
/// two cores other suites' blocking tests can hold both for a second or more.
@Suite struct ChangeSignalTests {
    static let long = Duration.seconds(30)
    static let woken = Duration.seconds(10)

    @Test func aWaitEndsOnSignalTimeoutOrClose() async throws {
        let signal = ChangeSignal()
        let clock = ContinuousClock()
        // Timeout.
        var start = clock.now
        await signal.wait(since: signal.generation, timeout: .milliseconds(200))
        #expect(clock.now - start >= .milliseconds(180))
        // A signal between reading the generation and waiting is not missed.
        let seen = signal.generation
        signal.signal()
        start = clock.now
        await signal.wait(since: seen, timeout: Self.long)
        #expect(clock.now - start < Self.woken)
        // A signal during the wait ends it.
        let g = signal.generation
        async let waited: Void = signal.wait(since: g, timeout: Self.long)
        try await Task.sleep(for: .milliseconds(100))
        start = clock.now
        signal.signal()
        await waited
        #expect(clock.now - start < Self.woken)
        // After close, waits return at once.
        signal.close()
        start = clock.now
        await signal.wait(since: signal.generation, timeout: Self.long)
        #expect(clock.now - start < Self.woken)
    }
}
