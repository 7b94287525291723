import Foundation
import Synchronization
import Testing
import ReinTLS

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

struct LeafCertificateCacheTests {
    private func makeCache(clock: ManualClock, capacity: Int = 1024) throws -> (LeafCertificateCache, TemporaryDirectory) {
        let temp = try TemporaryDirectory()
        let ca = try CertificateAuthority.loadOrCreate(directory: temp.path + "/ca", now: clock.now)
        return (LeafCertificateCache(authority: ca, capacity: capacity, clock: { clock.now }), temp)
    }

    @Test func reusesTheLeafForTheSameName() throws {
        let clock = ManualClock(Date())
        let (cache, _) = try makeCache(clock: clock)
        let first = try cache.identity(forServerName: "s3.us-east-1.amazonaws.com")
        let again = try cache.identity(forServerName: "S3.US-EAST-1.amazonaws.com")
        let other = try cache.identity(forServerName: "sts.amazonaws.com")
        #expect(first === again)
        #expect(first !== other)
        #expect(other.serverName == "sts.amazonaws.com")
        #expect(cache.count == 2)
    }

    @Test func remintsWithinAnHourOfExpiry() throws {
        let clock = ManualClock(Date())
        let (cache, _) = try makeCache(clock: clock)
        let first = try cache.identity(forServerName: "sqs.eu-west-1.amazonaws.com")
        clock.advance(by: 22 * 3600)
        #expect(try cache.identity(forServerName: "sqs.eu-west-1.amazonaws.com") === first)
        clock.advance(by: 3600 + 1)
        let renewed = try cache.identity(forServerName: "sqs.eu-west-1.amazonaws.com")
        #expect(renewed !== first)
        #expect(renewed.notAfter > first.notAfter)
        #expect(renewed.notAfter.timeIntervalSince(clock.now) > 23 * 3600)
    }

    @Test func refusesInvalidNames() throws {
        let (cache, _) = try makeCache(clock: ManualClock(Date()))
        let error = #expect(throws: TLSError.self) { try cache.identity(forServerName: "bad name") }
        #expect(error?.code == .invalidServerName)
        #expect(cache.count == 0)
    }

    @Test func staysWithinCapacity() throws {
        let (cache, _) = try makeCache(clock: ManualClock(Date()), capacity: 3)
        for index in 0..<10 { _ = try cache.identity(forServerName: "host\(index).example.com") }
        #expect(cache.count == 3)
    }

    @Test func concurrentHandshakesShareOneLeaf() async throws {
        let (cache, _) = try makeCache(clock: ManualClock(Date()))
        let names = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<32 {
                group.addTask { ObjectIdentifier(try cache.identity(forServerName: "kms.us-east-1.amazonaws.com")) }
            }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(names.count == 1)
    }
}
