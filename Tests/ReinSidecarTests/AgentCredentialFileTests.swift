import Foundation
import Testing
@testable import ReinSidecar

/// The agent's credentials outlive a restart of the sidecar
/// (``AgentCredentialFile``), and nothing the file holds is trusted when it
/// may have been seen or changed by someone else.
struct AgentCredentialFileTests {
    static func issuer(_ dir: TLSTemporaryDirectory, _ clock: TestClock, log: LogCapture = LogCapture(),
                       rotateBefore: Int64 = 1200) -> AgentCredentialIssuer {
        AgentCredentialIssuer(ttl: 3600, rotateBefore: rotateBefore, clock: { clock.now },
                              file: AgentCredentialFile(path: dir.path + "/agent-credentials.json"), logger: log.logger())
    }

    @Test func aRestartedSidecarAcceptsAndHandsOutTheSetItIssuedBefore() throws {
        let dir = try TLSTemporaryDirectory()
        let clock = TestClock(1_000_000)
        let first = try #require(Self.issuer(dir, clock).issue())
        let path = dir.path + "/agent-credentials.json"
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        clock.advance(600)
        let log = LogCapture()
        let restarted = Self.issuer(dir, clock, log: log)
        #expect(restarted.credentials(forAccessKeyId: first.credentials.accessKeyId) == first.credentials)
        #expect(restarted.issue() == first, "the agent's refresh gets the same set, not a second one")
        let said = try #require(log.records.first { $0.message.contains("accepted until they expire") })
        #expect(said.metadata["credentials.access_key_ids"] == first.credentials.accessKeyId)
        // Only what a person may see: the key id, never the secret or the token.
        for record in log.records {
            let text = record.message + record.metadata.values.joined(separator: " ")
            #expect(!text.contains(first.credentials.secretAccessKey))
            #expect(!text.contains(first.credentials.sessionToken ?? "-"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["agent-credentials.json"], "no temporary file is left")
    }

    @Test func rotatedSetsAreAllKeptAndExpiredOnesAreNotTakenBack() throws {
        let dir = try TLSTemporaryDirectory()
        let clock = TestClock(1_000_000)
        let issuer = Self.issuer(dir, clock)
        let first = try #require(issuer.issue())
        clock.advance(2500) // inside the rotation window
        let second = try #require(issuer.issue())
        #expect(second != first)
        let restarted = Self.issuer(dir, clock)
        #expect(restarted.credentials(forAccessKeyId: first.credentials.accessKeyId) != nil, "in-flight calls signed with the old set")
        #expect(restarted.issue() == second)
        clock.advance(1100) // the first has expired, the second has not
        let later = Self.issuer(dir, clock)
        #expect(later.credentials(forAccessKeyId: first.credentials.accessKeyId) == nil)
        #expect(later.credentials(forAccessKeyId: second.credentials.accessKeyId) == second.credentials)
        clock.advance(3600)
        let afterAll = Self.issuer(dir, clock)
        #expect(afterAll.credentials(forAccessKeyId: second.credentials.accessKeyId) == nil)
        let fresh = try #require(afterAll.issue())
        #expect(fresh != second && fresh != first)
    }

    @Test func aFileOthersCanReadIsDiscardedAndRemoved() throws {
        let dir = try TLSTemporaryDirectory()
        let clock = TestClock(1_000_000)
        let first = try #require(Self.issuer(dir, clock).issue())
        let path = dir.path + "/agent-credentials.json"
        #expect(chmod(path, 0o644) == 0)
        let log = LogCapture()
        let restarted = Self.issuer(dir, clock, log: log)
        #expect(restarted.credentials(forAccessKeyId: first.credentials.accessKeyId) == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
        let warning = try #require(log.records.first { $0.level == .warning })
        #expect(warning.metadata["error"]?.contains("readable by group or others") == true)
        #expect(warning.metadata["error"]?.contains("discarded") == true)
    }

    @Test(arguments: [
        ("{not json", "does not decode"),
        (#"{"version": 2, "sets": []}"#, "version 2"),
        (#"{"version": 1, "sets": [{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "session_token": "REINx", "expiration": 9999999999}]}"#,
         "shape"),
    ])
    func aDamagedFileIsSetAsideAndTheNextSetReplacesIt(contents: String, reason: String) throws {
        let dir = try TLSTemporaryDirectory()
        let path = dir.path + "/agent-credentials.json"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]))
        let clock = TestClock(1_000_000)
        let log = LogCapture()
        let issuer = Self.issuer(dir, clock, log: log)
        #expect(issuer.credentials(forAccessKeyId: "AKIAIOSFODNN7EXAMPLE") == nil)
        let warning = try #require(log.records.first { $0.level == .warning })
        #expect(warning.metadata["error"]?.contains(reason) == true)
        let issued = try #require(issuer.issue())
        #expect(Self.issuer(dir, clock).credentials(forAccessKeyId: issued.credentials.accessKeyId) == issued.credentials)
    }

    @Test func aFailedWriteStillIssuesAndSaysWhatARestartWouldCost() throws {
        let dir = try TLSTemporaryDirectory()
        let clock = TestClock(1_000_000)
        let log = LogCapture()
        let issuer = AgentCredentialIssuer(ttl: 3600, clock: { clock.now },
                                           file: AgentCredentialFile(path: dir.path + "/missing/agent-credentials.json"), logger: log.logger())
        let issued = try #require(issuer.issue())
        #expect(issuer.credentials(forAccessKeyId: issued.credentials.accessKeyId) == issued.credentials)
        let error = try #require(log.records.first { $0.level == .error })
        #expect(error.message.contains("refused until its next refresh"))
        #expect(error.metadata["error"]?.contains("No such file or directory") == true)
        #expect(!(error.message + (error.metadata["error"] ?? "")).contains(issued.credentials.secretAccessKey))
    }
}
