import Foundation
import ReinBroker
import ReinSigV4
import Synchronization

/// A provider that answers from a script and counts its fetches.
final class FakeProvider: BrokerCredentialProvider {
    let name = "fake"
    private let state = Mutex<(fetches: Int, fallback: Result<BrokerCredentials, BrokerError>?)>((0, nil))
    /// Makes credentials that expire `lifetime` seconds after the fetch.
    private let lifetime: TimeInterval?
    /// Key ids are `ASIA<prefix><n>`, so that two providers' sets differ.
    private let prefix: String
    /// Runs inside each fetch, before it answers (a test acting mid-fetch).
    private let during: (@Sendable () -> Void)?

    init(lifetime: TimeInterval? = nil, prefix: String = "FAKE", during: (@Sendable () -> Void)? = nil) {
        self.lifetime = lifetime
        self.prefix = prefix
        self.during = during
    }

    var fetches: Int { state.withLock { $0.fetches } }

    /// Every fetch from now on fails with this error (nil: succeed again).
    func failWith(_ error: BrokerError?) {
        state.withLock { $0.fallback = error.map { .failure($0) } }
    }

    func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        let (n, fallback) = state.withLock { s -> (Int, Result<BrokerCredentials, BrokerError>?) in
            s.fetches += 1
            return (s.fetches, s.fallback)
        }
        during?()
        if let fallback { return try fallback.get() }
        return BrokerCredentials(
            credentials: AWSCredentials(accessKeyId: "ASIA\(prefix)\(n)", secretAccessKey: "fake-secret-\(n)", sessionToken: "fake-token-\(n)"),
            expiration: lifetime.map { now.addingTimeInterval($0) }, source: name)
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let time: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { time = Mutex(start) }
    var now: Date { time.withLock { $0 } }
    func advance(to offset: TimeInterval, from start: Date) { time.withLock { $0 = start.addingTimeInterval(offset) } }
    func advance(by seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

let fakeStaticBase = StaticCredentialProvider(credentials: AWSCredentials(
    accessKeyId: "AKIDBASEEXAMPLE", secretAccessKey: "base-secret-do-not-leak", sessionToken: "base-token-do-not-leak"))
