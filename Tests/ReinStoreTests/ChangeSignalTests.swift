import Testing
import ReinStore

@Suite struct ChangeSignalTests {
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
        await signal.wait(since: seen, timeout: .seconds(10))
        #expect(clock.now - start < .seconds(1))
        // A signal during the wait ends it.
        let g = signal.generation
        async let waited: Void = signal.wait(since: g, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(100))
        start = clock.now
        signal.signal()
        await waited
        #expect(clock.now - start < .seconds(1))
        // After close, waits return at once.
        signal.close()
        start = clock.now
        await signal.wait(since: signal.generation, timeout: .seconds(10))
        #expect(clock.now - start < .seconds(1))
    }
}
