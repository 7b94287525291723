import Foundation
import Testing
@testable import ReinAudit

/// Signing keys and tokens on disk must be Rein's alone.
@Suite struct SecretFileTests {
    private func scratch(_ contents: String, mode: mode_t) throws -> String {
        let path = NSTemporaryDirectory() + "rein-secret-\(UUID().uuidString)"
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    @Test func aSigningKeyOthersCanReadIsRefusedAndMadeOnesAre0600() throws {
        let path = NSTemporaryDirectory() + "rein-key-\(UUID().uuidString)"
        defer { unlink(path) }
        let made = try SigningKeyFile.loadOrCreate(path: path)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try SigningKeyFile.loadOrCreate(path: path).rawRepresentation == made.rawRepresentation)
        #expect(chmod(path, 0o644) == 0)
        do {
            _ = try SigningKeyFile.loadOrCreate(path: path)
            Issue.record("a key others can read was used")
        } catch {
            #expect(error.description.contains("is readable by group or others (mode 0644); chmod 600 it"))
        }
    }

    /// The likely mistake of giving the token itself where its file belongs
    /// must not put the token into an error (a terminal, a CI log, a ticket).
    @Test func aTokenGivenAsAFileNameIsNotRepeated() throws {
        let token = "rein_9fQ2xLk3Vb7Tz1Wm4Hc8Np6Rd0Sy5Ue"
        for problem in [SecretFile.Problem.unreadable(path: token, reason: "No such file or directory"), .notAFile(path: token),
                        .shared(path: token, mode: 0o100644), .unwritable(path: token, reason: "No space left on device")] {
            #expect(!problem.description.contains(token), "\(problem)")
            #expect(problem.description.contains("\(token.count)-character name"))
        }
        // Real file names are still named.
        for path in ["/var/run/secrets/rein/token", "token.txt", "collector-token", "rein-collector-sidecar-token"] {
            #expect(SecretFile.shown(path) == path)
            #expect(SecretFile.Problem.unreadable(path: path, reason: "x").description.contains(path), "\(path)")
        }
    }

    @Test func absentSharedAndDirectoryAreToldApart() throws {
        #expect(try SecretFile.read(NSTemporaryDirectory() + "rein-none-\(UUID().uuidString)") == nil)
        let shared = try scratch("t", mode: 0o640)
        defer { unlink(shared) }
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(shared) }
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(NSTemporaryDirectory()) }
        #expect(chmod(shared, 0o400) == 0)
        #expect(try SecretFile.read(shared) == Array("t".utf8))
        // Group-readable where a file must be (the agent token), never world-readable.
        #expect(chmod(shared, 0o640) == 0)
        #expect(try SecretFile.read(shared, group: .allowed) == Array("t".utf8))
        #expect(chmod(shared, 0o644) == 0)
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(shared, group: .allowed) }
    }

    /// A secret the platform provisioned (a Kubernetes Secret volume: root
    /// owns it, the pod's fsGroup may read it) is accepted group-readable;
    /// the same mode on a file a user owns is not, nor others' access ever.
    @Test func groupReadIsAcceptedWhenRootOwnsTheFile() throws {
        try #require(getuid() == 0, "chown needs root (the suite runs as root in CI)")
        let token = try scratch("t", mode: 0o440)
        defer { unlink(token) }
        #expect(chown(token, 0, 65532) == 0)
        #expect(try SecretFile.read(token, group: .whenRootOwned) == Array("t".utf8))
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(token) }
        #expect(chown(token, 65534, 65532) == 0)
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(token, group: .whenRootOwned) }
        #expect(chmod(token, 0o400) == 0)
        #expect(try SecretFile.read(token, group: .whenRootOwned) == Array("t".utf8))
        #expect(chown(token, 0, 65532) == 0 && chmod(token, 0o444) == 0)
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(token, group: .whenRootOwned) }
    }

    /// `--token-file <(…)`: a pipe is read; a FIFO nobody writes does not hang.
    @Test func pipesAreReadAndAWriterlessFIFODoesNotBlock() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let token = Array("tok-from-a-pipe".utf8)
        _ = token.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        #expect(try SecretFile.read("/dev/fd/\(fds[0])") == token)
        close(fds[0])
        let fifo = NSTemporaryDirectory() + "rein-fifo-\(UUID().uuidString)"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        #expect(try SecretFile.read(fifo) == [])
    }

    /// A replaced secret is 0600 whatever the file was before, is never
    /// seen half written, and leaves no temporary file behind.
    @Test func replaceWritesWhole0600FilesAndLeavesNothingElse() throws {
        let dir = NSTemporaryDirectory() + "rein-replace-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/secret.json"
        try "old".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, 0o644) == 0)
        try SecretFile.replace(path, with: Array("new contents".utf8))
        #expect(try SecretFile.read(path) == Array("new contents".utf8))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secret.json"])
        let error = #expect(throws: SecretFile.Problem.self) { try SecretFile.replace(dir + "/no/such/dir/secret", with: [1]) }
        #expect(error?.description.contains("No such file or directory") == true)
    }
}
