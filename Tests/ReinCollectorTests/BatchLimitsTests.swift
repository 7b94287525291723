import Testing
@testable import ReinCollectorClient

/// A 413 halves the shipper's batches; a run of batches that go through
/// grows them back to the configured size.
@Suite struct BatchLimitsTests {
    @Test func shrinksToOneRecordAndGrowsBack() {
        var limits = BatchLimits(records: 1000, bytes: 8 << 20)
        for _ in 0..<12 { limits.shrink() }
        #expect(limits.records == 1 && limits.bytes == 64 << 10)
        var grew = 0
        for _ in 0..<(BatchLimits.growAfter * 10) where limits.succeeded() { grew += 1 }
        #expect(grew == 10 && limits.records == 1000 && limits.bytes == 8 << 20 && !limits.isReduced)
        let moved = limits.succeeded()
        #expect(!moved) // at the configured size, nothing moves
    }

    @Test func aNew413RestartsTheCount() {
        var limits = BatchLimits(records: 8, bytes: 1 << 20)
        limits.shrink()
        for _ in 0..<(BatchLimits.growAfter - 1) { _ = limits.succeeded() }
        limits.shrink()
        #expect(limits.records == 2)
        var early = 0
        for _ in 0..<(BatchLimits.growAfter - 1) where limits.succeeded() { early += 1 }
        let grew = limits.succeeded()
        #expect(early == 0 && grew && limits.records == 4)
    }
}
