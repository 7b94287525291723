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
        #expect(try SecretFile.read(shared, allowGroup: true) == Array("t".utf8))
        #expect(chmod(shared, 0o644) == 0)
        #expect(throws: SecretFile.Problem.self) { try SecretFile.read(shared, allowGroup: true) }
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
}
