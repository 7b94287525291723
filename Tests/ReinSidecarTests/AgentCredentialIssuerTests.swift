import Synchronization
import Testing
@testable import ReinSidecar

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    func advance(_ seconds: Int64) { value.withLock { $0 += seconds } }
    var now: Int64 { value.withLock { $0 } }
}

struct AgentCredentialIssuerTests {
    @Test func issuesStsShapedCredentialsThatOnlyThisIssuerKnows() throws {
        let clock = TestClock(1_000_000)
        let issuer = AgentCredentialIssuer(ttl: 3600, clock: { clock.now })
        let issued = try #require(issuer.issue())
        #expect(issued.credentials.accessKeyId.hasPrefix("ASIA") && issued.credentials.accessKeyId.count == 20)
        #expect(issued.expiration == 1_000_000 + 3600)
        #expect(issuer.credentials(forAccessKeyId: issued.credentials.accessKeyId) == issued.credentials)
        #expect(issuer.credentials(forAccessKeyId: "ASIAUNKNOWN000000000") == nil)
        let other = AgentCredentialIssuer(ttl: 3600, clock: { clock.now })
        #expect(other.credentials(forAccessKeyId: issued.credentials.accessKeyId) == nil)
        #expect(!String(describing: issued.credentials).contains(issued.credentials.secretAccessKey))
    }

    @Test func rotatesBeforeSDKsRefreshAndKeepsOldSetsUntilTheyExpire() throws {
        let clock = TestClock(1_000_000)
        let issuer = AgentCredentialIssuer(ttl: 3600, rotateBefore: 1200, clock: { clock.now })
        let first = try #require(issuer.issue())
        clock.advance(600)
        #expect(issuer.issue() == first) // plenty of time left: same set
        clock.advance(1900) // 1,100 s left: inside the rotation window
        let second = try #require(issuer.issue())
        #expect(second.credentials.accessKeyId != first.credentials.accessKeyId)
        #expect(issuer.credentials(forAccessKeyId: first.credentials.accessKeyId) != nil) // still valid
        clock.advance(1200) // first has expired
        #expect(issuer.credentials(forAccessKeyId: first.credentials.accessKeyId) == nil)
        #expect(issuer.credentials(forAccessKeyId: second.credentials.accessKeyId) != nil)
    }

    @Test func neverIssuesPastTheTaskExpiry() throws {
        let clock = TestClock(1_000_000)
        let issuer = AgentCredentialIssuer(ttl: 3600, notAfter: { 1_000_000 + 1000 }, clock: { clock.now })
        let issued = try #require(issuer.issue())
        #expect(issued.expiration == 1_000_000 + 1000)
        clock.advance(1000)
        #expect(issuer.issue() == nil)
        #expect(issuer.credentials(forAccessKeyId: issued.credentials.accessKeyId) == nil)
    }
}
